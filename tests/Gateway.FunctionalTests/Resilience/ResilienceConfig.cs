using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Resilience;

/// <summary>Config snippets for the resilience tests (cluster id "backend", route "all").</summary>
public static class ResilienceConfig
{
    public static JsonObject Cluster(params (string Id, string Url)[] destinations) =>
        GatewayConfig.SingleCluster("backend", destinations);

    /// <summary>The README's Kubernetes recommendation, with a short reactivation period so tests stay short.</summary>
    public static JsonObject WithHealthChecks(this JsonObject config, string reactivation = "00:00:05") =>
        config.Set("ReverseProxy:Clusters:backend:HealthCheck", JsonNode.Parse($$"""
        {
          "Active": { "Enabled": true, "Interval": "00:00:01", "Timeout": "00:00:01", "Policy": "ConsecutiveFailures", "Path": "/healthz" },
          "Passive": { "Enabled": true, "Policy": "ConsecutiveFailures", "ReactivationPeriod": "{{reactivation}}" }
        }
        """));

    public static JsonObject WithoutPassiveHealth(this JsonObject config) =>
        config.Set("ReverseProxy:Clusters:backend:HealthCheck", JsonNode.Parse("""{ "Passive": { "Enabled": false } }"""));

    /// <summary>The Retry block; <paramref name="minRetriesPerSecond"/> unset leaves the built-in floor (10 a second).</summary>
    public static JsonObject WithRetry(this JsonObject config, bool enabled, int maxAttempts = 2, int budgetPercent = 10, int? minRetriesPerSecond = null)
    {
        var block = new JsonObject
        {
            ["Enabled"] = enabled,
            ["MaxAttempts"] = maxAttempts,
            ["BudgetPercent"] = budgetPercent,
        };
        if (minRetriesPerSecond is { } floor)
        {
            block["MinRetriesPerSecond"] = floor;
        }

        return config.Set("ReverseProxy:Clusters:backend:Retry", block);
    }

    /// <summary>The value of a Prometheus series with the given name and labels (0 when absent); label order does not matter.</summary>
    public static async Task<double> ScrapeAsync(GatewayProcess gateway, string metric, params string[] labels)
    {
        using var management = gateway.CreateManagementClient();
        var text = await management.GetStringAsync("/metrics");
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(metric + "{", StringComparison.Ordinal) && labels.All(l => line.Contains(l, StringComparison.Ordinal)))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
