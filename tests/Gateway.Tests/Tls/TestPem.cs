using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Tests.Tls;

/// <summary>Self-signed PEM files for the unit tests (the functional tests have their own CA helper).</summary>
internal sealed class TestPem : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("gateway-tls-unit-").FullName;

    public (string Certificate, string Key) Write(string name, string subject = "CN=unit", DateTimeOffset? notAfter = null, string? keyFrom = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var until = notAfter ?? DateTimeOffset.UtcNow.AddDays(1);
        using var certificate = request.CreateSelfSigned(until.AddDays(-2), until);
        var crt = Path.Combine(Directory, name + ".crt");
        var keyPath = Path.Combine(Directory, name + ".key");
        File.WriteAllText(crt, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, keyFrom is null ? key.ExportPkcs8PrivateKeyPem() : File.ReadAllText(keyFrom));
        return (crt, keyPath);
    }

    public string WriteText(string name, string text)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
