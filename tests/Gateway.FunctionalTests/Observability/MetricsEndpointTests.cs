using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Observability;

public sealed class MetricsEndpointTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Metrics_IsServedOnManagement_AndAbsentOnTheProxyPort()
    {
        await using var upstream = await UpstreamServer.StartAsync("upstream");
        var config = GatewayConfig.SingleCluster(upstream).Set("ReverseProxy:Routes:all:Match:Path", "/api/{**rest}");
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var proxy = gateway.CreateProxyClient();
        using var management = gateway.CreateManagementClient();
        Assert.Equal("upstream", await proxy.GetStringAsync("/api/x"));

        using var onProxy = await proxy.GetAsync("/metrics");
        var onManagement = await management.GetStringAsync("/metrics");

        Assert.Equal(HttpStatusCode.NotFound, onProxy.StatusCode);
        Assert.DoesNotContain("gateway_", await onProxy.Content.ReadAsStringAsync());
        Assert.DoesNotContain(upstream.Requests, r => r.PathAndQuery == "/metrics");
        Assert.Contains("gateway_proxy_requests_total{", onManagement);
    }

    [Fact]
    public async Task ProxiedRequests_AreRecorded_WithConfigIdsStatusClassAndMethod_AndProxyBuckets()
    {
        await using var upstream = await UpstreamServer.StartAsync("upstream");
        upstream.Handler = context =>
        {
            context.Response.StatusCode = context.Request.Path.StartsWithSegments("/api/missing") ? 404 : 503;
            return Task.CompletedTask;
        };
        var config = new JsonObject
        {
            ["ReverseProxy"] = JsonNode.Parse($$"""
            {
              "Routes": {
                "all": { "ClusterId": "backend", "Match": { "Path": "/api/{**rest}" } },
                "down": { "ClusterId": "down", "Match": { "Path": "/down/{**rest}" } }
              },
              "Clusters": {
                "backend": { "Destinations": { "d1": { "Address": "{{upstream.Url}}" } } },
                "down": { "Destinations": { "dead": { "Address": "http://127.0.0.1:1" } } }
              }
            }
            """),
        };
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var proxy = gateway.CreateProxyClient();
        using var management = gateway.CreateManagementClient();

        foreach (var (method, path) in new[] { ("GET", "/api/1"), ("PURGE", "/api/missing"), ("GET", "/down/1"), ("POST", "/down/2") })
        {
            using var response = await proxy.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        }

        var metrics = await management.GetStringAsync("/metrics");
        output.WriteLine(string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("gateway_proxy", StringComparison.Ordinal) && !l.Contains("_bucket", StringComparison.Ordinal))));

        Assert.Contains("gateway_proxy_requests_total{otel_scope_name=\"Gateway\",cluster=\"backend\",destination=\"d1\",grpc_status=\"none\",method=\"GET\",route=\"all\",status_class=\"5xx\"} 1", metrics);
        Assert.Contains("gateway_proxy_requests_total{otel_scope_name=\"Gateway\",cluster=\"backend\",destination=\"d1\",grpc_status=\"none\",method=\"OTHER\",route=\"all\",status_class=\"4xx\"} 1", metrics);
        Assert.Contains("gateway_proxy_requests_total{otel_scope_name=\"Gateway\",cluster=\"down\",destination=\"dead\",grpc_status=\"none\",method=\"GET\",route=\"down\",status_class=\"5xx\"} 1", metrics);
        Assert.Contains("gateway_proxy_requests_total{otel_scope_name=\"Gateway\",cluster=\"down\",destination=\"dead\",grpc_status=\"none\",method=\"POST\",route=\"down\",status_class=\"5xx\"} 1", metrics);
        Assert.Contains("gateway_proxy_errors_total{otel_scope_name=\"Gateway\",cluster=\"down\",error=\"Request\",route=\"down\"} 2", metrics);
        Assert.Contains("gateway_proxy_upstream_duration_seconds_count{otel_scope_name=\"Gateway\",cluster=\"backend\",destination=\"d1\"} 2", metrics);
        // Sub-millisecond to 30 s buckets on both histograms.
        Assert.Contains("gateway_proxy_request_duration_seconds_bucket{otel_scope_name=\"Gateway\",cluster=\"backend\",destination=\"d1\",method=\"GET\",route=\"all\",status_class=\"5xx\",le=\"0.0005\"}", metrics);
        Assert.Contains("gateway_proxy_upstream_duration_seconds_bucket{otel_scope_name=\"Gateway\",cluster=\"backend\",destination=\"d1\",le=\"30\"}", metrics);
        Assert.Contains("gateway_drain_phase{otel_scope_name=\"Gateway\"} 0", metrics);
        Assert.Contains("gateway_inflight_requests{otel_scope_name=\"Gateway\"}", metrics);
        Assert.Contains("gateway_destination_health{otel_scope_name=\"Gateway\",cluster=\"backend\",destination=\"d1\"} 1", metrics);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("true", true)]
    public async Task FrameworkClientAndRoutingMeters_AreRecorded_OnlyWithDetailedMetrics(string? detailed, bool expected)
    {
        await using var upstream = await UpstreamServer.StartAsync("upstream");
        var env = new Dictionary<string, string>();
        if (detailed is not null)
        {
            env["Gateway__Telemetry__DetailedMetrics"] = detailed;
        }

        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.SingleCluster(upstream).ToJson(), env);
        using var proxy = gateway.CreateProxyClient();
        using var management = gateway.CreateManagementClient();
        Assert.Equal("upstream", await proxy.GetStringAsync("/x"));
        Assert.Equal(HttpStatusCode.NotFound, (await management.GetAsync("/no-such-endpoint")).StatusCode);

        // The exporter caches a scrape briefly: poll until this request's own series are in.
        var metrics = "";
        await Wait.UntilAsync(async () =>
        {
            metrics = await management.GetStringAsync("/metrics");
            return metrics.Contains("gateway_proxy_requests_total{", StringComparison.Ordinal)
                && metrics.Contains("http_server_request_duration_seconds_count{", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(10), "the proxied request and the 404 in /metrics");

        Assert.Equal(expected, metrics.Contains("http_client_request_duration_seconds_count{", StringComparison.Ordinal));
        Assert.Equal(expected, metrics.Contains("aspnetcore_routing_match_attempts_total{", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MetricsSwitchOff_RecordsNoPerRequestMetrics_ButKeepsScrapeTimeGauges()
    {
        await using var upstream = await UpstreamServer.StartAsync("upstream");
        var env = new Dictionary<string, string> { ["Gateway__Telemetry__Metrics"] = "false" };
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.SingleCluster(upstream).ToJson(), env);
        using var proxy = gateway.CreateProxyClient();
        using var management = gateway.CreateManagementClient();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("upstream", await proxy.GetStringAsync($"/x/{i}"));
        }

        var metrics = await management.GetStringAsync("/metrics");

        Assert.DoesNotContain("gateway_proxy_requests_total", metrics);
        Assert.DoesNotContain("gateway_proxy_request_duration", metrics);
        Assert.DoesNotContain("gateway_proxy_upstream_duration", metrics);
        Assert.DoesNotContain("http_server_request_duration", metrics);
        Assert.DoesNotContain("http_client_request_duration", metrics);
        Assert.Contains("gateway_pool_requests_total{otel_scope_name=\"Gateway\",cluster=\"backend\"} 5", metrics);
        Assert.Contains("gateway_drain_phase", metrics);
        Assert.Contains("gateway_destination_health", metrics);
        Assert.Contains("dotnet_gc_", metrics);
        Assert.Contains("Per-request metrics are off", gateway.Output);
    }

    [Theory]
    [InlineData("Gateway:Telemetry:Otlp:Endpoint", "otel-collector:4317", "'otel-collector:4317'")]
    [InlineData("Gateway:Telemetry:Otlp:Endpoint", "/v1/traces", "'/v1/traces'")]
    [InlineData("Gateway:Telemetry:Otlp:Endpoint", "ftp://collector/", "'ftp://collector/'")]
    [InlineData("Gateway:Telemetry:TraceSampleRatio", "1.5", "'1.5'")]
    [InlineData("Gateway:Telemetry:TraceSampleRatio", "some", "'some'")]
    [InlineData("Gateway:Telemetry:Metrics", "maybe", "'maybe'")]
    [InlineData("Gateway:Telemetry:Otlp:Protocol", "Thrift", "'Thrift'")]
    public async Task BadTelemetrySetting_StopsStart_NamingTheKeyAndValue(string key, string value, string quoted)
    {
        var config = GatewayConfig.SingleCluster("backend", ("d1", "http://127.0.0.1:1")).Set(key, JsonValue.Create(value));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), environment: null, waitUntilReady: false);

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains(key, gateway.Output);
        Assert.Contains(quoted, gateway.Output);
        Assert.DoesNotContain("   at ", gateway.Output);
    }
}
