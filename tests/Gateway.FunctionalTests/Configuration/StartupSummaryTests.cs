using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Configuration;

/// <summary>One start-up line, and GET /admin/config, say what is in force.</summary>
public sealed class StartupSummaryTests
{
    private const string Token = "summary-admin-token-0123456789";

    [Fact]
    public async Task StartupLine_ListsTheEffectiveSettings_WithTlsRedisAndAdminOn()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync("a");
        var directory = Directory.CreateTempSubdirectory("gateway-summary-").FullName;
        try
        {
            using var certificate = TestCertificate.Create();
            var (certPath, keyPath) = certificate.WritePem(directory);
            var tlsPort = Ports.GetFree();
            var config = GatewayConfig.SingleCluster(upstream)
                .Set("Kestrel:Endpoints:Secure:Url", $"https://127.0.0.1:{tlsPort}")
                .Set("Kestrel:Endpoints:Secure:Certificate:Path", certPath)
                .Set("Kestrel:Endpoints:Secure:Certificate:KeyPath", keyPath)
                .Set("Gateway:Shutdown:ReadinessDelay", "00:00:02")
                .Set("Gateway:Shutdown:DrainTimeout", "00:00:10")
                .Set("Gateway:Limits:MaxRequestBodySize", 1048576)
                .Set("Gateway:RateLimiting:Policies:per-client", new JsonObject { ["Algorithm"] = "FixedWindow", ["PermitLimit"] = 100, ["Window"] = "00:01:00" });
            var password = "s3cret-redis-password";
            var env = new Dictionary<string, string>
            {
                ["Gateway__Admin__Token"] = Token,
                ["Gateway__Redis__Configuration"] = $"{redis.ConnectionString},password={password}",
            };

            await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), env);

            var line = Assert.Single(gateway.OutputLines, l => l.Contains("In force: ", StringComparison.Ordinal));
            Assert.Contains($"Secure (url https://127.0.0.1:{tlsPort}, tls on, protocols Http1AndHttp2)", line, StringComparison.Ordinal);
            Assert.Contains($"Proxy (url {gateway.ProxyUrl}, tls off", line, StringComparison.Ordinal);
            Assert.Contains("admin: on", line, StringComparison.Ordinal);
            Assert.Contains($"redis: endpoints 127.0.0.1:{redis.Port}, keyPrefix gateway", line, StringComparison.Ordinal);
            Assert.Contains("drain: readinessDelay 00:00:02, drainTimeout 00:00:10, poolCloseTimeout 00:00:02, terminationGracePeriodSecondsAtLeast 19", line, StringComparison.Ordinal);
            Assert.Contains("maxRequestBodyBytes 1048576", line, StringComparison.Ordinal);
            Assert.Contains("routes 1, clusters 1", line, StringComparison.Ordinal);
            Assert.Contains("rateLimitPolicies: per-client", line, StringComparison.Ordinal);
            Assert.DoesNotContain(password, gateway.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(Token, gateway.Output, StringComparison.Ordinal);

            using var admin = gateway.CreateManagementClient(Token);
            var body = JsonNode.Parse(await admin.GetStringAsync($"{gateway.ManagementUrl}/admin/config"))!;
            Assert.Equal("on", body["inForce"]!["listeners"]!["Secure"]!["tls"]!.GetValue<string>());
            Assert.Equal(19, body["inForce"]!["drain"]!["terminationGracePeriodSecondsAtLeast"]!.GetValue<int>());
            Assert.Equal($"127.0.0.1:{redis.Port}", body["inForce"]!["redis"]!["endpoints"]![0]!.GetValue<string>());

            // The TLS listener really serves.
            using var tlsClient = new HttpClient(new SocketsHttpHandler { UseProxy = false, SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } });
            Assert.Equal(HttpStatusCode.OK, (await tlsClient.GetAsync($"https://127.0.0.1:{tlsPort}/tls")).StatusCode);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
