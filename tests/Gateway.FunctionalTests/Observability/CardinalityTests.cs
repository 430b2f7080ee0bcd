using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Observability;

public sealed class CardinalityTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DistinctRandomPaths_DoNotGrowTheSeriesCount_AndNeverAppearInMetrics()
    {
        await using var upstream = await UpstreamServer.StartAsync("upstream");
        var config = GatewayConfig.SingleCluster(upstream).Set("ReverseProxy:Routes:all:Match:Path", "/api/{**rest}");
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var proxy = gateway.CreateProxyClient();
        using var management = gateway.CreateManagementClient();
        var tokens = Enumerable.Range(0, 1000).Select(_ => Guid.NewGuid().ToString("N")).ToArray();
        // Half match the route (proxied, 200), half match nothing (404 from the gateway itself).
        var paths = tokens.Select((t, i) => i % 2 == 0 ? $"/api/{t}/item?q={t}" : $"/{t}").ToArray();
        _ = await management.GetStringAsync("/metrics"); // the scrape endpoint's own series exist from here on

        await SendAsync(proxy, paths[..100]);
        var after100 = RequestSeries(await ScrapeShowingAsync(management, proxied: 50));
        await SendAsync(proxy, paths[100..]);
        var metricsAfter1000 = await ScrapeShowingAsync(management, proxied: 500);
        var after1000 = RequestSeries(metricsAfter1000);

        output.WriteLine($"series (runtime excluded): after 100 distinct paths {after100.Count}, after 1000 {after1000.Count}");
        Assert.Equal(500, upstream.Requests.Count);
        var grown = after1000.Except(after100).ToList();
        Assert.True(grown.Count == 0, "series added by more distinct paths:\n" + string.Join("\n", grown));
        Assert.Equal(after100.Order(), after1000.Order());
        foreach (var token in tokens)
        {
            Assert.DoesNotContain(token, metricsAfter1000);
        }

        Assert.DoesNotContain("/api/", metricsAfter1000.Replace("/api/{**rest}", string.Empty, StringComparison.Ordinal));
    }

    /// <summary>The exporter caches a scrape briefly; poll until the scrape reflects every proxied request sent.</summary>
    private static async Task<string> ScrapeShowingAsync(HttpClient management, int proxied)
    {
        var text = string.Empty;
        var expected = $"gateway_proxy_requests_total{{otel_scope_name=\"Gateway\",cluster=\"backend\",destination=\"upstream\",grpc_status=\"none\",method=\"GET\",route=\"all\",status_class=\"2xx\"}} {proxied}";
        await Wait.UntilAsync(async () => (text = await management.GetStringAsync("/metrics")).Contains(expected, StringComparison.Ordinal),
            TimeSpan.FromSeconds(15), $"a scrape showing {proxied} proxied requests", pollMs: 100);
        return text;
    }

    private static async Task SendAsync(HttpClient proxy, string[] paths)
    {
        // A few at a time: quick on a loaded box, without turning the test into a load test.
        await Parallel.ForEachAsync(paths, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (path, cancel) =>
        {
            using var response = await proxy.GetAsync(path, cancel);
        });
    }

    /// <summary>Series keys (name and labels) of everything but .NET runtime metrics, which change with GC and JIT, not with requests.</summary>
    private static List<string> RequestSeries(string metrics) =>
        metrics.Split('\n')
            .Where(line => line.Length > 0 && line[0] != '#' && !line.StartsWith("dotnet_", StringComparison.Ordinal))
            .Select(line => line[..line.LastIndexOf(' ')])
            .ToList();
}
