using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// A self-signed server certificate for 127.0.0.1 and localhost, made by the test: in memory for an in-process Kestrel,
/// or written as PEM files for the gateway's Kestrel <c>Certificate</c> block (<c>Path</c>, <c>KeyPath</c>).
/// </summary>
public sealed class TestCertificate : IDisposable
{
    private TestCertificate(X509Certificate2 certificate, string certificatePem, string keyPem)
    {
        Certificate = certificate;
        CertificatePem = certificatePem;
        KeyPem = keyPem;
    }

    /// <summary>With its private key, for a server in this process.</summary>
    public X509Certificate2 Certificate { get; }

    public string CertificatePem { get; }

    public string KeyPem { get; }

    public static TestCertificate Create(string subject = "CN=gateway-test")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // A PKCS#12 round trip, as FakeKubernetesApi does, so the certificate owns its key once `key` is disposed.
        var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
        return new TestCertificate(certificate, created.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>A CA certificate (self-signed, may sign others with <see cref="Issue"/>).</summary>
    public static TestCertificate CreateAuthority(string subject = "CN=gateway-test-ca")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
        return new TestCertificate(certificate, created.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>
    /// A certificate signed by this CA, for <paramref name="dnsNames"/> and 127.0.0.1: a server certificate, or a client one
    /// with <paramref name="client"/>; valid until <paramref name="notAfter"/> (default a day), whole seconds.
    /// </summary>
    public TestCertificate Issue(string subject, IEnumerable<string>? dnsNames = null, bool client = false, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        foreach (var name in dnsNames ?? ["localhost"])
        {
            san.AddDnsName(name);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(client ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1")], false));
        var until = notAfter ?? DateTimeOffset.UtcNow.AddDays(1);
        until = DateTimeOffset.FromUnixTimeSeconds(until.ToUnixTimeSeconds());
        var serial = new byte[12];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        using var signed = request.Create(Certificate, DateTimeOffset.UtcNow.AddMinutes(-5), until, serial);
        using var withKey = signed.CopyWithPrivateKey(key);
        var certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        return new TestCertificate(certificate, signed.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Writes <c>tls.crt</c> and <c>tls.key</c> into <paramref name="directory"/>; returns their paths.</summary>
    public (string CertificatePath, string KeyPath) WritePem(string directory)
    {
        var certificatePath = Path.Combine(directory, "tls.crt");
        var keyPath = Path.Combine(directory, "tls.key");
        File.WriteAllText(certificatePath, CertificatePem);
        File.WriteAllText(keyPath, KeyPem);
        return (certificatePath, keyPath);
    }

    /// <summary>True for this certificate only: a client that trusts exactly the test's certificate, not any.</summary>
    public bool Matches(X509Certificate? presented) =>
        presented is not null && presented.GetRawCertData().AsSpan().SequenceEqual(Certificate.RawData);

    public void Dispose() => Certificate.Dispose();
}
