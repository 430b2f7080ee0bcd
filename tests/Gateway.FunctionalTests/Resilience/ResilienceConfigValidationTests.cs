using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Resilience;

public sealed class ResilienceConfigValidationTests
{
    public static TheoryData<string, string[]> BadConfigs()
    {
        static string With(Action<JsonObject> mutate)
        {
            var config = GatewayConfig.SingleCluster("backend", ("d1", "http://127.0.0.1:1"));
            mutate(config);
            return config.ToJson();
        }

        return new TheoryData<string, string[]>
        {
            { With(c => c.Set("ReverseProxy:Clusters:backend:Retry:MaxAttempts", 9)), ["ReverseProxy:Clusters:backend:Retry:MaxAttempts: '9' must be between 1 and 5"] },
            { With(c => c.Set("ReverseProxy:Clusters:backend:Retry:BudgetPercent", -1)), ["ReverseProxy:Clusters:backend:Retry:BudgetPercent: '-1' must be between 0 and 100"] },
            { With(c => c.Set("ReverseProxy:Clusters:backend:Retry:Enabled", "sometimes")), ["ReverseProxy:Clusters:backend:Retry:Enabled", "'sometimes'", "true or false"] },
            { With(c => c.Set("Gateway:Retry:BudgetPercent", 150)), ["Gateway:Retry:BudgetPercent: '150' must be between 0 and 100"] },
            { With(c => c.Set("ReverseProxy:Clusters:backend:Retry:MinRetriesPerSecond", -1)), ["ReverseProxy:Clusters:backend:Retry:MinRetriesPerSecond: '-1' must be between 0 and 1000"] },
            { With(c => c.Set("Gateway:Retry:MinRetriesPerSecond", 5000)), ["Gateway:Retry:MinRetriesPerSecond: '5000' must be between 0 and 1000"] },
            { With(c => c.Set("ReverseProxy:Clusters:backend:CircuitBreaker:MaxConcurrentRequests", 0)), ["ReverseProxy:Clusters:backend:CircuitBreaker:MaxConcurrentRequests: '0' must be at least 1"] },
            { With(c => c.Set("ReverseProxy:Clusters:backend:CircuitBreaker:MaxPendingRequests", -1)), ["ReverseProxy:Clusters:backend:CircuitBreaker:MaxPendingRequests: '-1' must be 0 or more"] },
            { With(c => c.Set("ReverseProxy:Clusters:backend:CircuitBreaker:MaxConcurrentRequests", "many")), ["ReverseProxy:Clusters:backend:CircuitBreaker:MaxConcurrentRequests", "'many'"] },
            { With(c => c.Set("Gateway:CircuitBreaker:MaxConcurrentRequests", -5)), ["Gateway:CircuitBreaker:MaxConcurrentRequests: '-5' must be at least 1"] },
            { With(c => c.Set("ReverseProxy:Routes:all:RequestBuffering:MaxBytes", 0)), ["ReverseProxy:Routes:all:RequestBuffering:MaxBytes: '0' must be between 1 and 268435456"] },
            { With(c => c.Set("ReverseProxy:Routes:all:RequestBuffering:Enabled", "maybe")), ["ReverseProxy:Routes:all:RequestBuffering:Enabled", "'maybe'"] },
            { With(c => c.Set("Gateway:PassiveHealth:Policy", "Nope")), ["Gateway:PassiveHealth:Policy: 'Nope' is not a passive health policy", "ConsecutiveFailures", "TransportFailureRate"] },
            { With(c => c.Set("Gateway:PassiveHealth:ReactivationPeriod", "00:00:00")), ["Gateway:PassiveHealth:ReactivationPeriod: '00:00:00' must be greater than 00:00:00"] },
            { With(c => c.Set("ReverseProxy:Clusters:backend:Metadata:PassiveHealth.ConsecutiveFailures", "zero")), ["ReverseProxy:Clusters:backend:Metadata:PassiveHealth.ConsecutiveFailures: 'zero' must be a whole number"] },
            { With(c => c.Set("ReverseProxy:Clusters:backend:HealthCheck:Active:Policy", "Sometimes")), ["ReverseProxy:Clusters:backend:HealthCheck:Active:Policy: 'Sometimes' is not an active health policy"] },
            { With(c => c.Set("ReverseProxy:Clusters:backend:HealthCheck:Passive:Policy", "Nope")), ["ReverseProxy:Clusters:backend:HealthCheck:Passive:Policy: 'Nope' is not a passive health policy", "ConsecutiveFailures"] },
        };
    }

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public async Task BadResilienceSetting_StopsStart_WithAKeyPathMessage(string config, string[] expectedInMessage)
    {
        await using var gateway = await GatewayProcess.StartAsync(config, environment: null, waitUntilReady: false);

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, exitCode);
        foreach (var expected in expectedInMessage)
        {
            Assert.Contains(expected, gateway.Output);
        }

        Assert.DoesNotContain("   at ", gateway.Output);
    }

    [Fact]
    public async Task Reload_TurningRetriesOff_TakesEffectWithoutRestart()
    {
        await using var live = await UpstreamServer.StartAsync("live");
        // Accepts, then resets once the request has arrived: a GET is retried, and the destination is never ejected
        // (not a refused connect, and passive health is off).
        await using var broken = new ResettingListener(afterRequest: true);
        var config = ResilienceConfig.Cluster(("broken", broken.Url), ("live", live.Url))
            .WithRetry(enabled: true, budgetPercent: 100)
            .WithoutPassiveHealth();
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();
        for (var i = 0; i < 4; i++)
        {
            using var response = await client.GetAsync("/");
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        }

        await gateway.WriteConfigAsync(config.WithRetry(enabled: false).ToJson());
        await gateway.WaitForLogAsync("Configuration reloaded", TimeSpan.FromSeconds(15));

        var failures = 0;
        for (var i = 0; i < 4; i++)
        {
            using var response = await client.GetAsync("/");
            failures += response.StatusCode == System.Net.HttpStatusCode.BadGateway ? 1 : 0;
        }

        Assert.Equal(2, failures);
    }
}
