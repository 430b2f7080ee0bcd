using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.TestSupport;

namespace Gateway.FunctionalTests.Observability;

public sealed class DashboardTests(ITestOutputHelper output)
{
    public static string DashboardPath => Path.Combine(TestPaths.RepoRoot, "deploy", "grafana", "gateway-dashboard.json");

    private const string AdminToken = "dashboard-test-admin-token-0123456789";

    // The gateway's default AffinityKeyName: .Gateway.Affinity.<cluster id>.
    private const string SessionCookie = ".Gateway.Affinity.sessions";

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
            if (context.Request.Path.StartsWithSegments("/orders/grpc"))
            {
                // A trailers-only gRPC answer (status in the headers), enough for the gRPC panels' grpc_status series.
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = context.Request.Path.Value!.EndsWith("/missing", StringComparison.Ordinal) ? "5" : "0";
                return;
            }

            context.Response.StatusCode = context.Request.Path.Value!.Contains("/fail", StringComparison.Ordinal) ? 500 : 200;
            await context.Response.WriteAsync("orders");
        };
        // A cluster discovered from the fake Kubernetes API (one ready pod, the catalog upstream), so the
        // gateway_discovery_* series exist.
        await using var kubernetes = await FakeKubernetesApi.StartAsync();
        kubernetes.Upsert(EndpointSliceJson.Slice("inventory-abcde", "inventory", [EndpointSliceJson.Ready(catalog.Address.ToString(), "inventory-0")], [("http", catalog.Port)]));
        var config = WithDiscoveredCluster(WithAffinityAndRateLimits(TwoRoutesAndABrokenCluster(orders, catalog), catalog))
            // A circuit breaker that never opens under this traffic, so its series exist (at 0).
            .Set("ReverseProxy:Clusters:catalog:CircuitBreaker", JsonNode.Parse("""{ "MaxConcurrentRequests": 1000 }"""))
            // A route with an output-cache policy, so the gateway_output_cache_* series exist (at 0 until requested).
            .Set("ReverseProxy:Routes:cached", JsonNode.Parse("""{ "ClusterId": "catalog", "OutputCachePolicy": "short", "Match": { "Path": "/cached/{**rest}" } }"""))
            .Set("Gateway:OutputCache:Policies:short", JsonNode.Parse("""{ "Expire": "00:00:05" }"""))
            // A route with an authorization policy, so the gateway_auth_results_total series exist (at 0; no token is
            // ever sent, so the scheme's metadata is never fetched).
            .Set("ReverseProxy:Routes:secured", JsonNode.Parse("""{ "ClusterId": "catalog", "Match": { "Path": "/secured/{**rest}" }, "AuthorizationPolicy": "Default" }"""))
            .Set("Gateway:Authentication:Schemes:idp", JsonNode.Parse("""{ "Authority": "https://127.0.0.1:1", "Audiences": ["api"] }"""))
            // A route with request buffering on, so the gateway_request_buffering_requests_total series exist (at 0).
            .Set("ReverseProxy:Routes:buffered", JsonNode.Parse("""{ "ClusterId": "catalog", "Match": { "Path": "/buffered/{**rest}" }, "RequestBuffering": { "Enabled": true } }"""));
        var keyRing = Directory.CreateTempSubdirectory("gateway-dashboard-keys-");
        // An HTTPS listener, so the certificate series (gateway_tls_*) exist.
        using var listenerCertificate = TestCertificate.Create("CN=gateway-dashboard");
        var (certificatePath, keyPath) = listenerCertificate.WritePem(keyRing.FullName);
        try
        {
            await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), new Dictionary<string, string>
            {
                ["Kestrel__Endpoints__Secure__Url"] = $"https://127.0.0.1:{Ports.GetFree()}",
                ["Kestrel__Endpoints__Secure__Certificate__Path"] = certificatePath,
                ["Kestrel__Endpoints__Secure__Certificate__KeyPath"] = keyPath,
                ["Gateway__Admin__Token"] = AdminToken,
                ["Gateway__Affinity__KeyRingDirectory"] = keyRing.FullName,
                ["Gateway__Discovery__Kubernetes__KubeConfig"] = kubernetes.WriteKubeConfig(keyRing.FullName),
            });

            // A second replica whose Redis is down (nothing listens on that port), so rate-limit decisions fall back to
            // per-replica limits and gateway_ratelimit_fallbacks_total is counted. A replica of its own because Redis
            // being down would make the first one's drain call answer 503 (the mark cannot be shared).
            await using var noRedis = await GatewayProcess.StartAsync(RateLimitedWithRedisDown(catalog).ToJson());

            // Rules are loaded too: Prometheus refuses to start on a rule file it cannot parse.
            await using var prometheus = await PrometheusServer.StartAsync(
                [$"127.0.0.1:{gateway.ManagementPort}", $"127.0.0.1:{noRedis.ManagementPort}"], [RulesPath]);
            await Wait.UntilAsync(async () => (await prometheus.TargetHealthAsync()).All(h => h == "up"), TimeSpan.FromSeconds(60), "the gateway scrape targets to be up");

            // One valid reload, so gateway_config_reloads_total{result="success"} moves.
            config.Set("ReverseProxy:Routes:catalog:Order", 10);
            await gateway.WriteConfigAsync(config.ToJson());
            await gateway.WaitForLogAsync("Configuration reloaded", TimeSpan.FromSeconds(30));

            // Drain one destination of the affinity cluster through the admin API.
            await gateway.WaitForLogAsync("Affinity key ring ready", TimeSpan.FromSeconds(30));
            using (var admin = gateway.CreateManagementClient(AdminToken))
            using (var drained = await admin.PostAsync("/admin/clusters/sessions/destinations/sessions-2/drain", content: null))
            {
                Assert.True(drained.IsSuccessStatusCode, $"drain: {(int)drained.StatusCode} {await drained.Content.ReadAsStringAsync()}");
            }

            await AssertEveryQueryReturnsDataAsync(queries, gateway, noRedis, prometheus);
            await AssertEveryMetricOfTheRulesIsScrapedAsync(prometheus);
        }
        finally
        {
            keyRing.Delete(recursive: true);
        }
    }

    private async Task AssertEveryQueryReturnsDataAsync(List<string> queries, GatewayProcess gateway, GatewayProcess noRedis, PrometheusServer prometheus)
    {
        using var traffic = new CancellationTokenSource();
        var driving = Task.WhenAll(DriveTrafficAsync(gateway, traffic.Token), DriveRateLimitedAsync(noRedis, traffic.Token));
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
        // Spot-check that the data is the traffic we sent, not just any series (counters with known labels exist at 0
        // from start, hence "> 0").
        var byStatus = await prometheus.QueryAsync("sum by (route, status_class) (gateway_proxy_requests_total)");
        var seen = byStatus.EnumerateArray().Select(r => $"{r.GetProperty("metric").GetProperty("route").GetString()}/{r.GetProperty("metric").GetProperty("status_class").GetString()}").ToHashSet();
        Assert.Contains("orders/2xx", seen);
        Assert.Contains("orders/5xx", seen);
        Assert.Contains("catalog/2xx", seen);
        Assert.Contains("broken/5xx", seen);
        var grpc = Labels(await prometheus.QueryAsync("sum by (route, grpc_status) (gateway_proxy_requests_total{grpc_status!=\"none\"})"), "route", "grpc_status");
        Assert.Equal(["orders/NOT_FOUND", "orders/OK"], grpc.Order(StringComparer.Ordinal));
        var errors = await prometheus.QueryAsync("sum by (cluster, error) (gateway_proxy_errors_total)");
        Assert.Contains(errors.EnumerateArray(), r => r.GetProperty("metric").GetProperty("cluster").GetString() == "broken" && r.GetProperty("metric").GetProperty("error").GetString() == "Request");

        var outcomes = Labels(await prometheus.QueryAsync("sum by (cluster, outcome) (gateway_affinity_outcomes_total) > 0"), "cluster", "outcome");
        Assert.Contains("sessions/new", outcomes);
        Assert.Contains("sessions/pinned", outcomes);
        Assert.Contains("sessions/redistributed", outcomes);
        HashSet<string> draining = [];
        await Wait.UntilAsync(
            async () => (draining = Labels(await prometheus.QueryAsync("max by (cluster, destination) (gateway_destination_draining) == 1"), "cluster", "destination")).Count > 0,
            TimeSpan.FromSeconds(30),
            "Prometheus to see the drained destination",
            pollMs: 500);
        Assert.Equal(["sessions/sessions-2"], draining);
        // The broken cluster's refused connects took its destination out of rotation.
        HashSet<string> ejected = [];
        await Wait.UntilAsync(
            async () => (ejected = Labels(await prometheus.QueryAsync("sum by (cluster, destination) (gateway_ejections_total) > 0"), "cluster", "destination")).Count > 0,
            TimeSpan.FromSeconds(30),
            "Prometheus to see an ejection",
            pollMs: 500);
        Assert.Equal(["broken/nothing-listens"], ejected);
        var discovered = Labels(await prometheus.QueryAsync("max by (cluster, condition) (gateway_discovery_endpoints) > 0"), "cluster", "condition");
        Assert.Equal(["inventory/ready"], discovered);
        Assert.Contains("limited/tiny", Labels(await prometheus.QueryAsync("sum by (route, policy) (gateway_ratelimit_rejections_total) > 0"), "route", "policy"));
        Assert.Contains("shared/local", Labels(await prometheus.QueryAsync("sum by (policy, mode) (gateway_ratelimit_fallbacks_total) > 0"), "policy", "mode"));
    }

    private static HashSet<string> Labels(JsonElement result, string first, string second) =>
        result.EnumerateArray().Select(r => $"{r.GetProperty("metric").GetProperty(first).GetString()}/{r.GetProperty("metric").GetProperty(second).GetString()}").ToHashSet();

    /// <summary>
    /// Every metric the alert and recording rules read (recording rules' own names aside) is one the gateway really
    /// exports: a misspelled or renamed metric would leave an alert that can never fire.
    /// </summary>
    private async Task AssertEveryMetricOfTheRulesIsScrapedAsync(PrometheusServer prometheus)
    {
        var rules = await File.ReadAllTextAsync(RulesPath);
        var names = Regex.Matches(rules, @"(?<![\w:])(gateway|dotnet|kestrel|http)_[a-z0-9_]+(?![\w:])")
            .Select(m => m.Value)
            .ToHashSet(StringComparer.Ordinal);
        Assert.Contains("gateway_discovery_errors_total", names);
        var missing = new List<string>();
        foreach (var name in names)
        {
            if ((await prometheus.QueryAsync($"count({{__name__=\"{name}\"}})")).GetArrayLength() == 0)
            {
                missing.Add(name);
            }
        }

        Assert.True(missing.Count == 0, $"metrics the rules use that the gateway does not export: {string.Join(", ", missing)}");
        output.WriteLine($"{names.Count} metrics used by the rules are scraped: {string.Join(", ", names.Order(StringComparer.Ordinal))}");
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

    /// <summary>
    /// Adds a cluster "sessions" with session affinity (two destinations, both the catalog upstream) on route "sessions",
    /// and a route "limited" whose policy admits one request a minute, so the traffic below is rejected.
    /// </summary>
    internal static JsonObject WithAffinityAndRateLimits(JsonObject config, UpstreamServer upstream) => config
        .Set("ReverseProxy:Routes:sessions", JsonNode.Parse("""{ "ClusterId": "sessions", "Match": { "Path": "/sessions/{**rest}" } }"""))
        .Set("ReverseProxy:Clusters:sessions", JsonNode.Parse($$"""
            {
              "SessionAffinity": { "Enabled": true },
              "Destinations": { "sessions-1": { "Address": "{{upstream.Url}}" }, "sessions-2": { "Address": "{{upstream.Url}}" } }
            }
            """))
        .Set("ReverseProxy:Routes:limited", JsonNode.Parse("""{ "ClusterId": "catalog", "RateLimiterPolicy": "tiny", "Match": { "Path": "/limited/{**rest}" } }"""))
        .Set("Gateway:RateLimiting:Policies:tiny", JsonNode.Parse("""{ "Algorithm": "FixedWindow", "PermitLimit": 1, "Window": "00:01:00", "PartitionBy": "Route" }"""))
        // A route split between orders and catalog that mirrors every request to the sessions cluster.
        .Set("ReverseProxy:Routes:split", JsonNode.Parse("""
            {
              "ClusterId": "orders", "Match": { "Path": "/split/{**rest}" },
              "Split": { "Clusters": { "orders": 1, "catalog": 1 } },
              "Mirror": { "ClusterId": "sessions" }
            }
            """));

    /// <summary>
    /// Adds a cluster "inventory" on route "inventory" whose destinations come from the EndpointSlices of Service
    /// shop/inventory (Kubernetes discovery; the kubeconfig is given to the gateway by environment).
    /// </summary>
    private static JsonObject WithDiscoveredCluster(JsonObject config) => config
        .Set("ReverseProxy:Routes:inventory", JsonNode.Parse("""{ "ClusterId": "inventory", "Match": { "Path": "/inventory/{**rest}" } }"""))
        .Set("ReverseProxy:Clusters:inventory", JsonNode.Parse("""{ "Discovery": { "Kubernetes": { "Namespace": "shop", "Service": "inventory", "Port": "http" } } }"""));

    /// <summary>A catch-all route with a Redis-shared policy, and Redis configured on a loopback port where nothing listens.</summary>
    private static JsonObject RateLimitedWithRedisDown(UpstreamServer upstream) => GatewayConfig.SingleCluster(upstream)
        .Set("ReverseProxy:Routes:all:RateLimiterPolicy", "shared")
        .Set("Gateway:RateLimiting:Policies:shared", JsonNode.Parse("""{ "Algorithm": "FixedWindow", "PermitLimit": 100000, "Window": "00:01:00", "PartitionBy": "Route", "FailureMode": "Local" }"""))
        .Set("Gateway:Redis:Configuration", $"127.0.0.1:{Ports.GetFree()}");

    /// <summary>
    /// 2xx and 5xx on two routes, gRPC-style calls answered OK and NOT_FOUND, forwarder errors on a third, requests matching no route, 429s, a discovered cluster, and affinity requests
    /// without a cookie (new), with the cookie the gateway issued (pinned) and with an unreadable one (redistributed),
    /// until cancelled.
    /// </summary>
    private static async Task DriveTrafficAsync(GatewayProcess gateway, CancellationToken cancel)
    {
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(10));
        string[] paths = ["/orders/1", "/orders/2", "/orders/fail", "/catalog/items", "/catalog/items/7", "/broken/x", "/no-such-route", "/limited/x", "/inventory/1", "/split/a", "/split/b", "/secured/x"];
        string? cookie = null;
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                foreach (var path in paths)
                {
                    using var response = await client.GetAsync(path, cancel);
                }

                foreach (var call in new[] { "/orders/grpc/ok", "/orders/grpc/missing" })
                {
                    using var grpcCall = new HttpRequestMessage(HttpMethod.Post, call) { Content = new ByteArrayContent([0, 0, 0, 0, 0]) };
                    grpcCall.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
                    using var response = await client.SendAsync(grpcCall, cancel);
                }

                cookie = await SendSessionRequestAsync(client, null, cancel) ?? cookie;
                if (cookie is not null)
                {
                    await SendSessionRequestAsync(client, cookie, cancel);
                }

                await SendSessionRequestAsync(client, "not-a-cookie-this-gateway-issued", cancel);
                await Task.Delay(100, cancel);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Returns the affinity cookie the gateway set, if any.</summary>
    private static async Task<string?> SendSessionRequestAsync(HttpClient client, string? cookie, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/sessions/cart");
        if (cookie is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", $"{SessionCookie}={cookie}");
        }

        using var response = await client.SendAsync(request, cancel);
        if (response.Headers.TryGetValues("Set-Cookie", out var values))
        {
            foreach (var value in values)
            {
                if (value.StartsWith(SessionCookie + "=", StringComparison.Ordinal))
                {
                    var end = value.IndexOf(';');
                    return value[(SessionCookie.Length + 1)..(end < 0 ? value.Length : end)];
                }
            }
        }

        return null;
    }

    private static async Task DriveRateLimitedAsync(GatewayProcess gateway, CancellationToken cancel)
    {
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(10));
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                using var response = await client.GetAsync("/anything", cancel);
                await Task.Delay(200, cancel);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
