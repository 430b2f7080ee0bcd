using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using static Gateway.FunctionalTests.RateLimiting.RateLimitTestKit;

namespace Gateway.FunctionalTests.RateLimiting;

public sealed class LocalRateLimitTests
{
    [Fact]
    public async Task SpoofedForwardedFor_FromUntrustedClient_DoesNotChangeItsPartition()
    {
        await using var upstream = await UpstreamServer.StartAsync("api");
        var config = SingleRoute(upstream, "per-ip", Policy("FixedWindow", 3, "ClientIp"))
            // A trusted proxy network that is not the test client: 127.0.0.1 stays untrusted once forwarded headers are handled.
            .Set("Gateway:ForwardedHeaders:KnownNetworks", new JsonArray("10.0.0.0/8"));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        var outcomes = await SendAsync([client], 8, forwardedFor: i => $"203.0.113.{i + 1}", parallelism: 1);

        Assert.Equal(3, outcomes.Admitted());
        Assert.Equal(5, outcomes.Limited());
        outcomes.AssertRejectionsWellFormed("per-ip", maxRetryAfterSeconds: 60);
        Assert.Equal(5, (int)await ScrapeCounterAsync(gateway, "gateway_ratelimit_rejections_total", "policy=\"per-ip\"", "route=\"all\""));
    }

    [Fact]
    public async Task Reload_ChangesALimit_AndRejectsARouteNamingAPolicyAddedAfterStart()
    {
        await using var upstream = await UpstreamServer.StartAsync("api");
        var config = SingleRoute(upstream, "per-key", Policy("FixedWindow", 2, "Header:X-Api-Key"));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();
        Assert.Equal(2, (await SendAsync([client], 4, apiKey: "k1", parallelism: 1)).Admitted());

        config.Set("Gateway:RateLimiting:Policies:per-key:PermitLimit", 5);
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("Rate-limit policy 'per-key' reloaded", TimeSpan.FromSeconds(30));
        Assert.Equal(5, (await SendAsync([client], 8, apiKey: "k2", parallelism: 1)).Admitted());

        config.Set("Gateway:RateLimiting:Policies:late", Policy("FixedWindow", 1, "ClientIp"));
        config.Set("ReverseProxy:Routes:all:RateLimiterPolicy", "late");
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("ReverseProxy:Routes:all:RateLimiterPolicy: 'late'", TimeSpan.FromSeconds(30));
        // The last good config keeps serving: per-key, limit 5.
        Assert.Equal(5, (await SendAsync([client], 7, apiKey: "k3", parallelism: 1)).Admitted());
    }

    public static TheoryData<string, string, string[]> BadPolicies()
    {
        static string With(Action<JsonObject> mutate)
        {
            var config = GatewayConfig.SingleCluster("backend", ("d1", "http://127.0.0.1:1"))
                .Set("ReverseProxy:Routes:all:RateLimiterPolicy", "p")
                .Set("Gateway:RateLimiting:Policies:p", Policy("FixedWindow", 10, "ClientIp"));
            mutate(config);
            return config.ToJson();
        }

        const string P = "Gateway:RateLimiting:Policies:p";
        return new TheoryData<string, string, string[]>
        {
            { "route names an unknown policy", With(c => c.Set("ReverseProxy:Routes:all:RateLimiterPolicy", "nope")), ["ReverseProxy:Routes:all:RateLimiterPolicy: 'nope'", "known: p"] },
            { "zero permit limit", With(c => c.Set($"{P}:PermitLimit", 0)), [$"{P}:PermitLimit: '0'"] },
            { "unknown algorithm", With(c => c.Set($"{P}:Algorithm", "LeakyBucket")), [$"{P}:Algorithm", "'LeakyBucket'", "SlidingWindow"] },
            { "unknown partition", With(c => c.Set($"{P}:PartitionBy", "Cookie:session")), [$"{P}:PartitionBy: 'Cookie:session'", "Header:<name>"] },
            { "bad window", With(c => c.Set($"{P}:Window", "a minute")), [$"{P}:Window", "'a minute'", "TimeSpan"] },
            { "queue on a window limit", With(c => c.Set($"{P}:QueueLimit", 5)), [$"{P}:QueueLimit: '5'", "Concurrency"] },
            { "token bucket without tokens", With(c => c.Set($"{P}:Algorithm", "TokenBucket").Set($"{P}:TokensPerPeriod", 0)), [$"{P}:TokensPerPeriod: '0'"] },
        };
    }

    [Theory]
    [MemberData(nameof(BadPolicies))]
    public async Task BadPolicy_StopsStart_WithAKeyPathMessage(string description, string config, string[] expectedInMessage)
    {
        await using var gateway = await GatewayProcess.StartAsync(config, environment: null, waitUntilReady: false);

        Assert.True(await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60)) != 0, description);
        foreach (var expected in expectedInMessage)
        {
            Assert.Contains(expected, gateway.Output);
        }

        Assert.DoesNotContain("   at ", gateway.Output);
    }
}
