using Gateway.Foundation;

namespace Gateway.Tests.Tls;

/// <summary>The one set of checks the start-up check, a rotation and the cluster Tls block share.</summary>
public sealed class CertificateFilesTests
{
    private static readonly DateTime Now = DateTime.UtcNow;

    [Fact]
    public void AGoodPair_Loads_WithItsKey()
    {
        using var pem = new TestPem();
        var (crt, key) = pem.Write("good", "CN=good");

        var loaded = CertificateFiles.LoadWithKey(Source(crt, key), Now, out var error);

        Assert.Null(error);
        Assert.NotNull(loaded);
        Assert.True(loaded.Certificate.HasPrivateKey);
        Assert.Equal("CN=good", loaded.Certificate.Subject);
    }

    [Fact]
    public void KeyNotMatching_Expired_NoCertificate_NoKey_Missing_AreRefusedWithTheKeyPath()
    {
        using var pem = new TestPem();
        var (crt, _) = pem.Write("a");
        var (_, otherKey) = pem.Write("b");
        var (expiredCrt, expiredKey) = pem.Write("expired", notAfter: DateTimeOffset.UtcNow.AddMinutes(-1));
        var keyOnly = pem.WriteText("key-only.pem", File.ReadAllText(otherKey));

        Assert.StartsWith("K:Path: '", Error(Source(crt, otherKey)));
        Assert.Contains("cannot be loaded with K:KeyPath", Error(Source(crt, otherKey)));
        Assert.Contains("expired on", Error(Source(expiredCrt, expiredKey)));
        Assert.Contains("holds no PEM certificate", Error(Source(keyOnly, otherKey)));
        Assert.Contains("holds no private key; set K:KeyPath", Error(Source(crt, null)));
        Assert.Equal("K:KeyPath: '/nonexistent.key' does not exist or cannot be read", Error(Source(crt, "/nonexistent.key")));
        Assert.Equal("K:Path: '/nonexistent.crt' does not exist or cannot be read", Error(Source("/nonexistent.crt", null)));
    }

    [Fact]
    public void Bundle_NeedsACertificate_AndNoneExpired()
    {
        using var pem = new TestPem();
        var (a, aKey) = pem.Write("a", "CN=ca-a");
        var (b, _) = pem.Write("b", "CN=ca-b");
        var (old, _) = pem.Write("old", notAfter: DateTimeOffset.UtcNow.AddMinutes(-1));
        var both = pem.WriteText("both.pem", File.ReadAllText(a) + "\n" + File.ReadAllText(b));

        var bundle = CertificateFiles.LoadBundle("K", both, Now, out var error);
        Assert.Null(error);
        Assert.Equal(2, bundle!.Count);
        Assert.Null(CertificateFiles.LoadBundle("K", pem.WriteText("key-only.pem", File.ReadAllText(aKey)), Now, out error));
        Assert.Contains("holds no PEM certificate", error);
        Assert.Null(CertificateFiles.LoadBundle("K", old, Now, out error));
        Assert.Contains("expired on", error);
    }

    [Fact]
    public void Fingerprint_ChangesWithContent_AndAMissingFileIsAContentToo()
    {
        using var pem = new TestPem();
        var path = pem.WriteText("f", "one");
        var first = CertificateFiles.Fingerprint(path);
        Assert.Equal(first, CertificateFiles.Fingerprint(path));
        File.WriteAllText(path, "two");
        Assert.NotEqual(first, CertificateFiles.Fingerprint(path));
        Assert.NotEqual(CertificateFiles.Fingerprint(path), CertificateFiles.Fingerprint(path + ".missing"));
    }

    private static CertificateFileSource Source(string path, string? keyPath) => new("K:Path", path, "K:KeyPath", keyPath, null);

    private static string Error(CertificateFileSource source)
    {
        Assert.Null(CertificateFiles.LoadWithKey(source, Now, out var error));
        return error!;
    }
}
