using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.RateLimiting;
using Gateway.FunctionalTests.Resilience;
using Gateway.TestSupport;

namespace Gateway.FunctionalTests.Tls;

/// <summary>
/// A cluster's Tls block against real HTTPS upstreams: a CA bundle as the trust, a client certificate for an upstream
/// that requires one, the reasons a certificate is refused (one log line, 502), a CA bundle rotated under an in-flight
/// request, and the certificates in the metrics and /admin/certificates.
/// </summary>
public sealed class UpstreamTlsTests(ITestOutputHelper output)
{
    private const string Token = "tls-test-admin-token";

    [Fact]
    public async Task MutualTls_WithTheClientCertificate200_Without502AndOneLineNamingTheCluster_AndTheCertificatesAreListedAndMeasured()
    {
        using var serverCa = TestCertificate.CreateAuthority("CN=upstream-ca");
        using var clientCa = TestCertificate.CreateAuthority("CN=client-ca");
        using var server = serverCa.Issue("CN=orders-upstream", ["orders.internal"]);
        using var client = clientCa.Issue("CN=gateway-client", client: true, notAfter: DateTimeOffset.UtcNow.AddDays(20));
        using var files = new TempFiles();
        var caFile = files.WriteText("upstream-ca.pem", serverCa.CertificatePem);
        var (clientCrt, clientKey) = files.Write("client", client);
        await using var upstream = await TlsUpstream.StartAsync(server, requireClientsFrom: clientCa);

        var config = TwoRoutes(upstream.Url)
            .Set("ReverseProxy:Clusters:mtls:Tls", new JsonObject
            {
                ["CaFile"] = caFile,
                ["ClientCertificate"] = new JsonObject { ["Path"] = clientCrt, ["KeyPath"] = clientKey },
            })
            .Set("ReverseProxy:Clusters:nocert:Tls", new JsonObject { ["CaFile"] = caFile });
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), new Dictionary<string, string> { ["Gateway__Admin__Token"] = Token });
        using var proxy = gateway.CreateProxyClient();

        using (var response = await proxy.GetAsync("/mtls/"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("tls-upstream", await response.Content.ReadAsStringAsync());
        }

        Assert.Contains("CN=gateway-client", upstream.ClientSubjects);

        using (var response = await proxy.GetAsync("/nocert/"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        }

        await gateway.WaitForLogAsync("cluster 'nocert'", TimeSpan.FromSeconds(10));
        var lines = gateway.OutputLines.Where(l => l.Contains("cluster 'nocert'", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        output.WriteLine(lines[0]);
        Assert.Contains("destination 'd'", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.OutputLines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));

        var expected = new DateTimeOffset(client.Certificate.NotAfter.ToUniversalTime()).ToUnixTimeSeconds();
        Assert.Equal(expected, await ResilienceConfig.ScrapeAsync(gateway, "gateway_tls_certificate_expiry_seconds", "cluster=\"mtls\"", "name=\"client\""));
        var caExpected = new DateTimeOffset(serverCa.Certificate.NotAfter.ToUniversalTime()).ToUnixTimeSeconds();
        Assert.Equal(caExpected, await ResilienceConfig.ScrapeAsync(gateway, "gateway_tls_certificate_expiry_seconds", "cluster=\"nocert\"", "name=\"ca:CN=upstream-ca\""));

        using var admin = gateway.CreateManagementClient(Token);
        var text = await admin.GetStringAsync("/admin/certificates");
        Assert.DoesNotContain("PRIVATE KEY", text, StringComparison.Ordinal);
        var listed = JsonNode.Parse(text)!["certificates"]!.AsArray();
        var clientEntry = listed.Single(c => (string?)c!["cluster"] == "mtls" && (string?)c["name"] == "client")!;
        Assert.Equal("CN=gateway-client", (string?)clientEntry["subject"]);
        Assert.Equal(clientCrt, (string?)clientEntry["path"]);
        Assert.Equal(clientKey, (string?)clientEntry["keyPath"]);
        Assert.Contains("localhost", clientEntry["dnsNames"]!.AsArray().Select(n => (string?)n));
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.CreateManagementClient().GetAsync("/admin/certificates")).StatusCode);
    }

    [Theory]
    [InlineData("UntrustedRoot")]
    [InlineData("NameMismatch")]
    [InlineData("Expired")]
    public async Task RefusedUpstreamCertificate_Is502_WithOneLineNamingClusterDestinationAndReason_AndIsCounted(string reason)
    {
        using var ca = TestCertificate.CreateAuthority("CN=upstream-ca");
        using var other = TestCertificate.CreateAuthority("CN=other-ca");
        using var server = reason == "Expired"
            ? ca.Issue("CN=orders-upstream", notAfter: DateTimeOffset.UtcNow.AddMinutes(-1))
            : (reason == "UntrustedRoot" ? other : ca).Issue("CN=orders-upstream");
        using var files = new TempFiles();
        var caFile = files.WriteText("ca.pem", ca.CertificatePem);
        await using var upstream = await TlsUpstream.StartAsync(server);
        var tls = new JsonObject { ["CaFile"] = caFile };
        if (reason == "NameMismatch")
        {
            tls["ServerName"] = "payments.internal";
        }

        var config = GatewayConfig.SingleCluster("backend", ("d", upstream.Url)).Set("ReverseProxy:Clusters:backend:Tls", tls);
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var proxy = gateway.CreateProxyClient();

        Assert.Equal(HttpStatusCode.BadGateway, (await proxy.GetAsync("/")).StatusCode);
        await gateway.WaitForLogAsync("cluster 'backend'", TimeSpan.FromSeconds(10));
        var line = Assert.Single(gateway.OutputLines, l => l.Contains("cluster 'backend'", StringComparison.Ordinal));
        output.WriteLine(line);
        Assert.Contains("destination 'd'", line, StringComparison.Ordinal);
        Assert.Contains($"rejected: {reason}", line, StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.OutputLines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.True(await RateLimitTestKit.ScrapeCounterAsync(gateway, "gateway_tls_handshake_failures_total", "side=\"upstream\"", "cluster=\"backend\"", $"reason=\"{reason}\"") >= 1);
    }

    [Fact]
    public async Task CaBundleRotation_RebuildsThePool_NewRequestsUseTheNewBundle_WhileAnInFlightRequestFinishesOnTheRetiredPool()
    {
        using var oldCa = TestCertificate.CreateAuthority("CN=old-ca");
        using var newCa = TestCertificate.CreateAuthority("CN=new-ca");
        using var oldServer = oldCa.Issue("CN=upstream-old");
        using var newServer = newCa.Issue("CN=upstream-new");
        using var mount = new SecretMount(new Dictionary<string, string> { ["ca.crt"] = oldCa.CertificatePem });
        await using var upstream = await TlsUpstream.StartAsync(oldServer);
        var config = GatewayConfig.SingleCluster("backend", ("d", upstream.Url))
            .Set("ReverseProxy:Clusters:backend:Tls", new JsonObject { ["CaFile"] = mount.Path("ca.crt") });
        await using var gateway = await GatewayProcess.StartAsync(
            config.ToJson(), new Dictionary<string, string> { ["Gateway__Tls__PollInterval"] = "00:00:01", ["Gateway__Admin__Token"] = Token });
        using var proxy = gateway.CreateProxyClient();
        Assert.Equal("tls-upstream", await proxy.GetStringAsync("/"));

        // In flight on a connection validated with the old CA.
        using var slow = await proxy.GetAsync("/slow", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, slow.StatusCode);

        // The upstream moves to a certificate of the new CA, and the Secret's CA bundle with it.
        upstream.Serve(newServer);
        mount.Swap(new Dictionary<string, string> { ["ca.crt"] = newCa.CertificatePem });
        await gateway.WaitForLogAsync("certificate 'ca': now CN=new-ca", TimeSpan.FromSeconds(30));

        // The file change rebuilt the pool: this request goes over a new connection, checked against the new bundle,
        // while the in-flight one finishes on the retired pool.
        await AssertPoolRebuiltAroundTheInFlightRequestAsync(gateway, proxy, upstream, slow);

        // The dry run of the same config after the rotation: the new pool is kept (the file version is not a config change).
        using (var admin = gateway.CreateManagementClient(Token))
        using (var content = new StringContent(config.ToJson(), System.Text.Encoding.UTF8, "application/json"))
        {
            var preview = JsonNode.Parse(await (await admin.PostAsync("/admin/config/validate", content)).Content.ReadAsStringAsync())!;
            Assert.Contains("backend", preview["changes"]!["pools"]!["kept"]!.AsArray().Select(p => (string?)p!["cluster"]));
        }

        Assert.Equal(0, await RateLimitTestKit.ScrapeCounterAsync(gateway, "gateway_tls_handshake_failures_total", "side=\"upstream\""));
    }

    [Fact]
    public async Task TlsBlockChange_IsPreviewedAsARebuild_ThenRebuildsThePool_AndTheInFlightRequestFinishesOnTheRetiredOne()
    {
        using var ca = TestCertificate.CreateAuthority("CN=upstream-ca");
        using var server = ca.Issue("CN=orders-upstream", ["orders.internal"]);
        using var files = new TempFiles();
        var caFile = files.WriteText("ca.pem", ca.CertificatePem);
        var sameCaElsewhere = files.WriteText("ca-copy.pem", ca.CertificatePem);
        await using var upstream = await TlsUpstream.StartAsync(server);
        var config = GatewayConfig.SingleCluster("backend", ("d", upstream.Url)).Set("ReverseProxy:Clusters:backend:Tls", new JsonObject { ["CaFile"] = caFile });
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), new Dictionary<string, string> { ["Gateway__Admin__Token"] = Token });
        using var proxy = gateway.CreateProxyClient();
        Assert.Equal("tls-upstream", await proxy.GetStringAsync("/"));
        using var slow = await proxy.GetAsync("/slow", HttpCompletionOption.ResponseHeadersRead);

        var changed = GatewayConfig.SingleCluster("backend", ("d", upstream.Url))
            .Set("ReverseProxy:Clusters:backend:Tls", new JsonObject { ["CaFile"] = sameCaElsewhere, ["ServerName"] = "orders.internal" });
        using (var admin = gateway.CreateManagementClient(Token))
        using (var content = new StringContent(changed.ToJson(), System.Text.Encoding.UTF8, "application/json"))
        {
            var preview = JsonNode.Parse(await (await admin.PostAsync("/admin/config/validate", content)).Content.ReadAsStringAsync())!;
            Assert.True((bool)preview["valid"]!, preview.ToJsonString());
            Assert.Contains("backend", preview["changes"]!["pools"]!["rebuilt"]!.AsArray().Select(p => (string?)p!["cluster"]));
        }

        await gateway.WriteConfigAsync(changed.ToJson());
        await AssertPoolRebuiltAroundTheInFlightRequestAsync(gateway, proxy, upstream, slow);
    }

    /// <summary>Pool #1 is retired, a new request is served by its successor, and the in-flight one ends whole on #1 before it is disposed.</summary>
    private static async Task AssertPoolRebuiltAroundTheInFlightRequestAsync(GatewayProcess gateway, HttpClient proxy, TlsUpstream upstream, HttpResponseMessage slow)
    {
        await gateway.WaitForLogAsync("Cluster 'backend': retiring pool #1", TimeSpan.FromSeconds(30));
        Assert.Equal("tls-upstream", await proxy.GetStringAsync("/"));

        upstream.Release.TrySetResult();
        Assert.Equal("slow-start\nslow-end", await slow.Content.ReadAsStringAsync());
        await gateway.WaitForLogAsync("Cluster 'backend': pool #1 disposed", TimeSpan.FromSeconds(30));
        Assert.Contains(gateway.OutputLines, l => l.Contains("pool #1 disposed", StringComparison.Ordinal) && l.Contains("0 requests were still in flight", StringComparison.Ordinal));
    }

    private static JsonObject TwoRoutes(string url) => new()
    {
        ["ReverseProxy"] = new JsonObject
        {
            ["Routes"] = new JsonObject
            {
                ["mtls"] = new JsonObject
                {
                    ["ClusterId"] = "mtls",
                    ["Match"] = new JsonObject { ["Path"] = "/mtls/{**rest}" },
                    ["Transforms"] = new JsonArray(new JsonObject { ["PathRemovePrefix"] = "/mtls" }),
                },
                ["nocert"] = new JsonObject
                {
                    ["ClusterId"] = "nocert",
                    ["Match"] = new JsonObject { ["Path"] = "/nocert/{**rest}" },
                    ["Transforms"] = new JsonArray(new JsonObject { ["PathRemovePrefix"] = "/nocert" }),
                },
            },
            ["Clusters"] = new JsonObject
            {
                ["mtls"] = new JsonObject { ["Destinations"] = new JsonObject { ["d"] = new JsonObject { ["Address"] = url } } },
                ["nocert"] = new JsonObject { ["Destinations"] = new JsonObject { ["d"] = new JsonObject { ["Address"] = url } } },
            },
        },
    };
}
