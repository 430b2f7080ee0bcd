using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Observability;

public sealed class DashboardTests(ITestOutputHelper output)
{
    public static string DashboardPath => Path.Combine(TestPaths.RepoRoot, "deploy", "grafana", "gateway-dashboard.json");

    public static string RulesPath => Path.Combine(TestPaths.RepoRoot, "deploy", "prometheus", "gateway-rules.yml");

    [Fact]
    public async Task EveryDashboardQuery_ReturnsData_FromARealPrometheusScrapingTheGateway()
    {
        var queries = DashboardQueries();
        Assert.True(queries.Count >= 20, $"expected the dashboard's queries, found {queries.Count}");

        await using var orders = await UpstreamServer.StartAsync("orders");
        await using var catalog = await UpstreamServer.StartAsync("catalog");
        orders.Handler = async context =>
        {
            context.Response.StatusCode = context.Request.Path.Value!.Contains("/fail", StringComparison.Ordinal) ? 500 : 200;
            await context.Response.WriteAsync("orders");
        };
        var config = TwoRoutesAndABrokenCluster(orders, catalog);
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());

        // Rules are loaded too: Prometheus refuses to start on a rule file it cannot parse.
        await using var prometheus = await PrometheusServer.StartAsync([$"127.0.0.1:{gateway.ManagementPort}"], [RulesPath]);
        await Wait.UntilAsync(async () => (await prometheus.TargetHealthAsync()).All(h => h == "up"), TimeSpan.FromSeconds(60), "the gateway scrape target to be up");

        // One valid reload, so gateway_config_reloads_total exists.
        config.Set("ReverseProxy:Routes:catalog:Order", 10);
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("Configuration reloaded", TimeSpan.FromSeconds(30));

        using var traffic = new CancellationTokenSource();
        var driving = DriveTrafficAsync(gateway, traffic.Token);
        var missing = new ConcurrentDictionary<string, bool>();
        try
        {
            await Wait.UntilAsync(
                async () =>
                {
                    missing.Clear();
                    foreach (var query in queries)
                    {
                        if ((await prometheus.QueryAsync(query)).GetArrayLength() == 0)
                        {
                            missing[query] = true;
                        }
                    }

                    return missing.IsEmpty;
                },
                TimeSpan.FromSeconds(90),
                "every dashboard query to return data",
                pollMs: 1000);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\nQueries without data:\n  {string.Join("\n  ", missing.Keys)}", ex);
        }
        finally
        {
            traffic.Cancel();
            await driving;
        }

        output.WriteLine($"{queries.Count} dashboard queries returned data");
        // Spot-check that the data is the traffic we sent, not just any series.
        var byStatus = await prometheus.QueryAsync("sum by (route, status_class) (gateway_proxy_requests_total)");
        var seen = byStatus.EnumerateArray().Select(r => $"{r.GetProperty("metric").GetProperty("route").GetString()}/{r.GetProperty("metric").GetProperty("status_class").GetString()}").ToHashSet();
        Assert.Contains("orders/2xx", seen);
        Assert.Contains("orders/5xx", seen);
        Assert.Contains("catalog/2xx", seen);
        Assert.Contains("broken/5xx", seen);
        var errors = await prometheus.QueryAsync("sum by (cluster, error) (gateway_proxy_errors_total)");
        Assert.Contains(errors.EnumerateArray(), r => r.GetProperty("metric").GetProperty("cluster").GetString() == "broken" && r.GetProperty("metric").GetProperty("error").GetString() == "Request");
    }

    /// <summary>Every PromQL expression in the dashboard, with Grafana's variables replaced by concrete values.</summary>
    public static List<string> DashboardQueries()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(DashboardPath))!;
        var variables = dashboard["templating"]?["list"]?.AsArray().Select(v => v!["name"]!.GetValue<string>()).ToHashSet() ?? [];
        var queries = new List<string>();
        Collect(dashboard["panels"]!, queries);
        for (var i = 0; i < queries.Count; i++)
        {
            var expr = queries[i]
                .Replace("$__rate_interval", "30s", StringComparison.Ordinal)
                .Replace("${__rate_interval}", "30s", StringComparison.Ordinal)
                .Replace("$__interval", "5s", StringComparison.Ordinal)
                .Replace("$__range", "5m", StringComparison.Ordinal);
            expr = Regex.Replace(expr, @"\$\{?(\w+)\}?", m =>
                variables.Contains(m.Groups[1].Value) ? ".*" : throw new InvalidOperationException($"unknown variable {m.Value} in: {queries[i]}"));
            queries[i] = expr;
        }

        return queries;
    }

    private static void Collect(JsonNode node, List<string> queries)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (key == "expr" && value is JsonValue v && v.TryGetValue<string>(out var expr) && !string.IsNullOrWhiteSpace(expr))
                    {
                        queries.Add(expr);
                    }
                    else if (value is not null)
                    {
                        Collect(value, queries);
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    if (item is not null)
                    {
                        Collect(item, queries);
                    }
                }

                break;
        }
    }

    internal static JsonObject TwoRoutesAndABrokenCluster(UpstreamServer orders, UpstreamServer catalog) => new()
    {
        ["ReverseProxy"] = JsonNode.Parse($$"""
        {
          "Routes": {
            "orders": { "ClusterId": "orders", "Match": { "Path": "/orders/{**rest}" } },
            "catalog": { "ClusterId": "catalog", "Match": { "Path": "/catalog/{**rest}" } },
            "broken": { "ClusterId": "broken", "Match": { "Path": "/broken/{**rest}" } }
          },
          "Clusters": {
            "orders": { "Destinations": { "orders-1": { "Address": "{{orders.Url}}" } } },
            "catalog": { "Destinations": { "catalog-1": { "Address": "{{catalog.Url}}" } } },
            "broken": { "Destinations": { "nothing-listens": { "Address": "http://127.0.0.1:1" } } }
          }
        }
        """),
    };

    /// <summary>2xx and 5xx on two routes, forwarder errors on a third, and requests matching no route, until cancelled.</summary>
    private static async Task DriveTrafficAsync(GatewayProcess gateway, CancellationToken cancel)
    {
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(10));
        string[] paths = ["/orders/1", "/orders/2", "/orders/fail", "/catalog/items", "/catalog/items/7", "/broken/x", "/no-such-route"];
        while (!cancel.IsCancellationRequested)
        {
            foreach (var path in paths)
            {
                try
                {
                    using var response = await client.GetAsync(path, cancel);
                }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                {
                    return;
                }
            }

            try
            {
                await Task.Delay(100, cancel);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
