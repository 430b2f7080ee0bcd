using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Observability;

/// <summary>
/// Counters whose labels the config already names exist at 0 before anything is counted: a counter that first appears
/// at 1 is a step Prometheus' rate() and increase() never see (the first rejected reload would not alert).
/// </summary>
public sealed class KnownSeriesTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task CountersWithKnownLabels_ExistAtZero_RightAfterStart_AndWhenAReloadAddsACluster()
    {
        // Nothing is ever sent to these destinations, and Redis is configured but never reached (no request asks it).
        var config = GatewayConfig.SingleCluster("backend", ("d1", DeadUrl()), ("d2", DeadUrl()))
            .Set("ReverseProxy:Clusters:backend:SessionAffinity", JsonNode.Parse("""{ "Enabled": true }"""))
            .Set("ReverseProxy:Routes:all:RateLimiterPolicy", "per-ip")
            .Set("Gateway:RateLimiting:Policies:per-ip", JsonNode.Parse("""{ "Algorithm": "FixedWindow", "PermitLimit": 100, "Window": "00:01:00" }"""))
            .Set("Gateway:Redis:Configuration", $"127.0.0.1:{Ports.GetFree()},abortConnect=false,connectTimeout=500")
            .Set("ReverseProxy:Clusters:backend:CircuitBreaker", JsonNode.Parse("""{ "MaxConcurrentRequests": 100 }"""))
            // A cluster that does not retry and has passive health off (it still ejects at the socket), and no breaker.
            .Set("ReverseProxy:Routes:plain", JsonNode.Parse("""{ "ClusterId": "plain", "Match": { "Path": "/plain/{**rest}" } }"""))
            .Set("ReverseProxy:Clusters:plain", JsonNode.Parse($$"""
                { "Retry": { "Enabled": false }, "HealthCheck": { "Passive": { "Enabled": false } }, "Destinations": { "p1": { "Address": "{{DeadUrl()}}" } } }
                """));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());

        // The first scrape, before any request or reload.
        var metrics = await ScrapeAsync(gateway);
        Assert.Equal(0, Value(metrics, "gateway_config_reloads_total", "result=\"success\""));
        Assert.Equal(0, Value(metrics, "gateway_config_reloads_total", "result=\"rejected\""));
        foreach (var result in new[] { "attempted", "succeeded", "budget_exhausted" })
        {
            Assert.Equal(0, Value(metrics, "gateway_retries_total", "cluster=\"backend\"", $"result=\"{result}\""));
        }

        foreach (var outcome in new[] { "pinned", "new", "redistributed", "failed" })
        {
            Assert.Equal(0, Value(metrics, "gateway_affinity_outcomes_total", "cluster=\"backend\"", $"outcome=\"{outcome}\""));
        }

        Assert.Equal(0, Value(metrics, "gateway_ejections_total", "cluster=\"backend\"", "destination=\"d1\""));
        Assert.Equal(0, Value(metrics, "gateway_ejections_total", "cluster=\"backend\"", "destination=\"d2\""));
        Assert.Equal(0, Value(metrics, "gateway_ratelimit_rejections_total", "route=\"all\"", "policy=\"per-ip\""));
        Assert.Equal(0, Value(metrics, "gateway_ratelimit_fallbacks_total", "policy=\"per-ip\"", "mode=\"local\""));
        Assert.Equal(0, Value(metrics, "gateway_proxy_errors_total", "route=\"all\"", "cluster=\"backend\"", "error=\"Request\""));
        Assert.Equal(0, Value(metrics, "gateway_proxy_errors_total", "route=\"all\"", "cluster=\"backend\"", "error=\"NoAvailableDestinations\""));
        Assert.Equal(0, Value(metrics, "gateway_circuit_open_total", "cluster=\"backend\""));
        Assert.Null(Value(metrics, "gateway_retries_total", "cluster=\"plain\""));
        Assert.Equal(0, Value(metrics, "gateway_ejections_total", "cluster=\"plain\"", "destination=\"p1\""));
        Assert.Null(Value(metrics, "gateway_circuit_open_total", "cluster=\"plain\""));
        Assert.Null(Value(metrics, "gateway_affinity_outcomes_total", "cluster=\"plain\""));

        // A cluster that appears with a reload has its series from that moment.
        config.Set("ReverseProxy:Routes:added", JsonNode.Parse("""{ "ClusterId": "added", "Match": { "Path": "/added/{**rest}" }, "RateLimiterPolicy": "per-ip" }"""))
            .Set("ReverseProxy:Clusters:added", JsonNode.Parse($$"""
                { "SessionAffinity": { "Enabled": true }, "CircuitBreaker": { "MaxConcurrentRequests": 10 }, "Destinations": { "a1": { "Address": "{{DeadUrl()}}" } } }
                """));
        await gateway.WriteConfigAsync(config.ToJson());
        await Wait.UntilAsync(async () => Value(metrics = await ScrapeAsync(gateway), "gateway_config_reloads_total", "result=\"success\"") == 1, Timeout, "the reload to be counted");

        Assert.Equal(0, Value(metrics, "gateway_retries_total", "cluster=\"added\"", "result=\"attempted\""));
        Assert.Equal(0, Value(metrics, "gateway_affinity_outcomes_total", "cluster=\"added\"", "outcome=\"pinned\""));
        Assert.Equal(0, Value(metrics, "gateway_ejections_total", "cluster=\"added\"", "destination=\"a1\""));
        Assert.Equal(0, Value(metrics, "gateway_circuit_open_total", "cluster=\"added\""));
        Assert.Equal(0, Value(metrics, "gateway_ratelimit_rejections_total", "route=\"added\"", "policy=\"per-ip\""));
        Assert.Equal(0, Value(metrics, "gateway_config_reloads_total", "result=\"rejected\""));
    }

    private static string DeadUrl() => $"http://127.0.0.1:{Ports.GetFree()}";

    private static async Task<string> ScrapeAsync(GatewayProcess gateway)
    {
        using var management = gateway.CreateManagementClient();
        return await management.GetStringAsync("/metrics");
    }

    /// <summary>The value of the one series of <paramref name="metric"/> with all <paramref name="labels"/>, or null when there is none.</summary>
    private static double? Value(string metrics, string metric, params string[] labels)
    {
        var lines = metrics.Split('\n').Where(l => l.StartsWith(metric + "{", StringComparison.Ordinal) && labels.All(label => l.Contains(label, StringComparison.Ordinal))).ToList();
        Assert.True(lines.Count <= 1, $"{lines.Count} series of {metric} with {string.Join(", ", labels)}");
        return lines.Count == 0 ? null : double.Parse(lines[0][(lines[0].LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}
