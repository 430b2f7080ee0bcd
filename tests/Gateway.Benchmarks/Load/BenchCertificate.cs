// The one certificate both TLS-terminating targets (nginx-https, gateway-https) serve, made once per run as PEM files.
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Benchmarks.Load;

internal static class BenchCertificate
{
    private static readonly Lock Gate = new();
    private static byte[]? _raw;
    private static (string, string)? _files;

    /// <summary>tls.crt and tls.key in <paramref name="work"/> (ECDSA P-256, for 127.0.0.1), written on first use.</summary>
    public static (string Certificate, string Key) Files(string work)
    {
        lock (Gate)
        {
            if (_files is { } files)
            {
                return files;
            }

            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=gateway-bench", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(2));
            var crt = Path.Combine(work, "bench-tls.crt");
            var keyPath = Path.Combine(work, "bench-tls.key");
            File.WriteAllText(crt, certificate.ExportCertificatePem());
            File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
            _raw = certificate.RawData;
            _files = (crt, keyPath);
            return (crt, keyPath);
        }
    }

    public static bool IsOurs(X509Certificate? presented) =>
        presented is not null && _raw is { } raw && presented.GetRawCertData().AsSpan().SequenceEqual(raw);
}
