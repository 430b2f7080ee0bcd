using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.TestSupport;

namespace Gateway.FunctionalTests.Tls;

/// <summary>A certificate file that cannot serve (listener or cluster): exit 2 at start, naming the key path, no stack trace.</summary>
public sealed class BadCertificateFileTests
{
    public static TheoryData<string, string> Cases() => new()
    {
        // case, expected message fragment
        { "listener key does not match", "Kestrel:Endpoints:Secure:Certificate:Path: '" },
        { "listener expired", "expired on" },
        { "listener PEM without a certificate", "holds no PEM certificate" },
        { "listener file missing", "Kestrel:Endpoints:Secure:Certificate:KeyPath: '/nonexistent/tls.key' does not exist" },
        { "cluster CA bundle missing", "ReverseProxy:Clusters:backend:Tls:CaFile: '/nonexistent/ca.pem' does not exist" },
        { "cluster client key does not match", "ReverseProxy:Clusters:backend:Tls:ClientCertificate:Path: '" },
        { "cluster CA bundle without a certificate", "ReverseProxy:Clusters:backend:Tls:CaFile: '" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadFile_AtStart_Exits2WithTheKeyPath(string kind, string message)
    {
        using var ca = TestCertificate.CreateAuthority();
        using var good = ca.Issue("CN=good");
        using var other = ca.Issue("CN=other");
        using var expired = ca.Issue("CN=expired", notAfter: DateTimeOffset.UtcNow.AddMinutes(-1));
        using var files = new TempFiles();
        var (goodCrt, goodKey) = files.Write("good", good);
        var (_, otherKey) = files.Write("other", other);
        var (expiredCrt, expiredKey) = files.Write("expired", expired);
        var noCertificate = files.WriteText("nocert.pem", good.KeyPem);
        var config = GatewayConfig.SingleCluster("backend", ("d", "https://127.0.0.1:1"));
        var environment = new Dictionary<string, string> { ["Kestrel__Endpoints__Secure__Url"] = $"https://127.0.0.1:{Ports.GetFree()}" };
        (string Crt, string Key) listener = kind switch
        {
            "listener key does not match" => (goodCrt, otherKey),
            "listener expired" => (expiredCrt, expiredKey),
            "listener PEM without a certificate" => (noCertificate, goodKey),
            "listener file missing" => (goodCrt, "/nonexistent/tls.key"),
            _ => (goodCrt, goodKey),
        };
        environment["Kestrel__Endpoints__Secure__Certificate__Path"] = listener.Crt;
        environment["Kestrel__Endpoints__Secure__Certificate__KeyPath"] = listener.Key;
        switch (kind)
        {
            case "cluster CA bundle missing":
                config.Set("ReverseProxy:Clusters:backend:Tls:CaFile", "/nonexistent/ca.pem");
                break;
            case "cluster client key does not match":
                config.Set("ReverseProxy:Clusters:backend:Tls:ClientCertificate", new JsonObject { ["Path"] = goodCrt, ["KeyPath"] = otherKey });
                break;
            case "cluster CA bundle without a certificate":
                config.Set("ReverseProxy:Clusters:backend:Tls:CaFile", noCertificate);
                break;
        }

        await using var refused = await GatewayProcess.StartAsync(config.ToJson(), environment, waitUntilReady: false);
        var exitCode = await refused.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 2, $"{kind}: exit code {exitCode}\n{refused.Output}");
        Assert.Contains(message, refused.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", refused.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.Output, StringComparison.Ordinal);
    }
}
