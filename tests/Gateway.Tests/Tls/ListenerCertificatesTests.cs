using System.Diagnostics.Metrics;
using System.Security.Authentication;
using Gateway.Foundation;
using Gateway.Tls;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Tests.Tls;

/// <summary>SNI selection as Kestrel's: exact, the longest *.suffix, "*", then the default; and a rotation's rules.</summary>
public sealed class ListenerCertificatesTests : IDisposable
{
    private readonly TestPem _pem = new();
    private readonly TlsMetrics _metrics = new(
        new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>(), new KnownSeries(new ServiceCollection().BuildServiceProvider()));

    [Fact]
    public void ExactName_ThenLongestWildcard_ThenStar_ThenDefault()
    {
        using var certificates = new ListenerCertificates("Proxy", Set("default"), [Set("shop.example.com"), Set("*.example.com"), Set("*.api.example.com")]);

        Assert.Equal("CN=shop.example.com", Subject(certificates, "shop.example.com"));
        Assert.Equal("CN=shop.example.com", Subject(certificates, "SHOP.example.com"));
        Assert.Equal("CN=*.api.example.com", Subject(certificates, "v1.api.example.com"));
        Assert.Equal("CN=*.example.com", Subject(certificates, "www.example.com"));
        Assert.Equal("CN=default", Subject(certificates, "other.test"));
        Assert.Equal("CN=default", Subject(certificates, null));

        using var star = new ListenerCertificates("Proxy", Set("default"), [Set("*")]);
        Assert.Equal("CN=*", Subject(star, "other.test"));
    }

    [Fact]
    public void WithoutADefault_AnUnknownNameIsRefused()
    {
        using var certificates = new ListenerCertificates("Proxy", null, [Set("shop.example.com")]);

        Assert.Throws<AuthenticationException>(() => certificates.OptionsFor("other.test"));
    }

    [Fact]
    public void BrokenChange_KeepsTheLastGood_ThenAGoodChangeApplies()
    {
        var (crt, key) = _pem.Write("rotating", "CN=first");
        using var set = SetFor("default", crt, key);

        File.WriteAllText(crt, "broken\n");
        set.Check();
        set.Check();
        Assert.Equal("CN=first", set.Current.Loaded.Certificate.Subject);

        var (nextCrt, nextKey) = _pem.Write("next", "CN=second");
        File.Copy(nextCrt, crt, overwrite: true);
        File.Copy(nextKey, key, overwrite: true);
        set.Check();
        Assert.Equal("CN=second", set.Current.Loaded.Certificate.Subject);
    }

    [Theory]
    [InlineData("System.OperationCanceledException", "timeout")]
    [InlineData("System.Security.Authentication.AuthenticationException", "authentication")]
    [InlineData("System.IO.IOException", "io")]
    [InlineData("System.InvalidOperationException", "other")]
    public void HandshakeFailureReason_IsBounded(string errorType, string reason) =>
        Assert.Equal(reason, ListenerHandshakeFailures.Reason(errorType));

    public void Dispose() => _pem.Dispose();

    private static string Subject(ListenerCertificates certificates, string? name) =>
        certificates.OptionsFor(name).ServerCertificateContext!.TargetCertificate.Subject;

    private CertificateFileSet<ListenerCertificate> Set(string name)
    {
        var (crt, key) = _pem.Write(name.Replace('*', '_'), "CN=" + name);
        return SetFor(name, crt, key);
    }

    private CertificateFileSet<ListenerCertificate> SetFor(string name, string crt, string key)
    {
        var source = new CertificateFileSource("K:Path", crt, "K:KeyPath", key, null);
        return new CertificateFileSet<ListenerCertificate>(
            "Listener 'Proxy'", name, [crt, key],
            now => CertificateFiles.LoadWithKey(source, now, out var error) is { } loaded
                ? (new ListenerCertificate(loaded, source, new System.Net.Security.SslServerAuthenticationOptions
                {
                    ServerCertificateContext = System.Net.Security.SslStreamCertificateContext.Create(loaded.Certificate, loaded.Chain, offline: true),
                }), null)
                : (null, error),
            static c => (c.Loaded.Certificate.Subject, c.Loaded.Certificate.NotAfter),
            TimeSpan.FromHours(1), _metrics, TimeProvider.System, NullLogger.Instance);
    }
}
