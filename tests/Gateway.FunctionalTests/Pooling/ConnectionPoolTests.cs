using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Pooling;

public sealed class ConnectionPoolTests(ITestOutputHelper output)
{
    private const string AdminToken = "pool-tests-admin-token-0123456789";
    private static readonly Dictionary<string, string> AdminEnv = new() { ["Gateway__Admin__Token"] = AdminToken };
    private static readonly TimeSpan ReloadTimeout = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(null, 32)]
    [InlineData(4, 4)]
    public async Task ManyRequests_From32KeepAliveClients_ReuseAtMostThatManyUpstreamConnections(int? maxConnectionsPerServer, int expectedMax)
    {
        await using var upstream = await UpstreamServer.StartAsync("up");
        var config = GatewayConfig.SingleCluster(upstream);
        if (maxConnectionsPerServer is { } max)
        {
            config.Set("ReverseProxy:Clusters:backend:ConnectionPool:MaxConnectionsPerServer", max);
        }

        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        var failures = await LoadAsync(gateway, clients: 32, totalRequests: 5000);

        output.WriteLine($"5000 requests, 32 clients, MaxConnectionsPerServer={maxConnectionsPerServer?.ToString() ?? "unset"}: {upstream.ConnectionsAccepted} upstream connections");
        Assert.Equal(0, failures);
        Assert.Equal(5000, upstream.Requests.Count);
        Assert.InRange(upstream.ConnectionsAccepted, 1, expectedMax);
    }

    [Fact]
    public async Task IdlePool_ClosesItsConnections_AfterIdleTimeout()
    {
        await using var upstream = await UpstreamServer.StartAsync("up");
        var config = GatewayConfig.SingleCluster(upstream).Set("Gateway:ConnectionPool:IdleTimeout", "00:00:01");
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());

        Assert.Equal(0, await LoadAsync(gateway, clients: 4, totalRequests: 200));
        Assert.True(upstream.ConnectionsOpen > 0);

        await Wait.UntilAsync(() => upstream.ConnectionsOpen == 0, TimeSpan.FromSeconds(15), "idle upstream connections to close");
        Assert.All(upstream.Connections, c => Assert.True(c.PeerClosedGracefully && !c.PeerReset, $"connection {c.Id} was not closed with a FIN"));
    }

    [Fact]
    public async Task Lifetime_ReplacesConnections_WhileTrafficContinues_WithZeroFailedRequests()
    {
        await using var upstream = await UpstreamServer.StartAsync("up");
        var config = GatewayConfig.SingleCluster(upstream).Set("Gateway:ConnectionPool:Lifetime", "00:00:00.500");
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());

        var failures = await LoadForAsync(gateway, clients: 4, TimeSpan.FromSeconds(4));

        output.WriteLine($"Lifetime 0.5 s, 4 s of traffic: {upstream.ConnectionsAccepted} connections opened, {upstream.Requests.Count} requests, {failures} failures");
        Assert.Equal(0, failures);
        // 4 clients need ~4 connections; over 4 s with a 0.5 s lifetime they must have been replaced several times.
        Assert.True(upstream.ConnectionsAccepted >= 8, $"only {upstream.ConnectionsAccepted} connections: lifetime did not replace them");
        Assert.True(upstream.Connections.Count(c => !c.IsOpen) >= 4, "replaced connections were not closed");
    }

    [Fact]
    public async Task Reload_ChangingOnlyDestinationsAndRoutes_OpensNoNewConnectionsToUnchangedDestinations()
    {
        await using var a = await UpstreamServer.StartAsync("a");
        await using var b = await UpstreamServer.StartAsync("b");
        var config = GatewayConfig.SingleCluster("backend", ("a", a.Url));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), AdminEnv);
        Assert.Equal(0, await LoadAsync(gateway, clients: 4, totalRequests: 100));
        var warm = a.ConnectionsAccepted;

        config.Set("ReverseProxy:Clusters:backend:Destinations:b", new JsonObject { ["Address"] = b.Url });
        config.Set("ReverseProxy:Routes:extra", JsonNode.Parse("""{ "ClusterId": "backend", "Match": { "Path": "/extra/{**rest}" } }"""));
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("Configuration reloaded", ReloadTimeout);

        Assert.Equal(0, await LoadAsync(gateway, clients: 4, totalRequests: 200));
        Assert.True(b.Requests.Count > 0, "the new destination got no traffic");
        Assert.Equal(warm, a.ConnectionsAccepted);
        Assert.Equal(1, gateway.CountLog("new connection pool"));
    }

    [Fact]
    public async Task Reload_ChangingPoolSettings_LetsASlowInFlightRequestFinish_ThenClosesTheOldPoolsConnections()
    {
        await using var upstream = await UpstreamServer.StartAsync("up");
        var slowStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        upstream.Handler = async context =>
        {
            if (context.Request.Path == "/slow")
            {
                slowStarted.TrySetResult();
                await Task.Delay(TimeSpan.FromSeconds(2));
                await context.Response.WriteAsync(new string('x', 100_000));
                return;
            }

            await context.Response.WriteAsync("fast");
        };
        var config = GatewayConfig.SingleCluster(upstream).Set("Gateway:ConnectionPool:RetirementGracePeriod", "00:00:10");
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), AdminEnv);
        using var client = gateway.CreateProxyClient();
        Assert.Equal("fast", await client.GetStringAsync("/warm"));

        var slow = client.GetAsync("/slow");
        await slowStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var oldConnections = upstream.Connections.Select(c => c.Id).ToHashSet();

        config.Set("ReverseProxy:Clusters:backend:ConnectionPool:IdleTimeout", "00:00:30");
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("pool settings changed", ReloadTimeout);
        var reloadedAt = DateTime.UtcNow;

        // New requests use the new pool while the slow one is still on the old.
        using var fastClient = gateway.CreateProxyClient();
        Assert.Equal("fast", await fastClient.GetStringAsync("/after-reload"));

        using var response = await slow;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(100_000, (await response.Content.ReadAsByteArrayAsync()).Length);

        await Wait.UntilAsync(() => upstream.Connections.Where(c => oldConnections.Contains(c.Id)).All(c => !c.IsOpen),
            TimeSpan.FromSeconds(12), "the old pool's connections to close");
        var old = upstream.Connections.Where(c => oldConnections.Contains(c.Id)).ToList();
        Assert.All(old, c => Assert.True(c.ClosedUtc!.Value - reloadedAt < TimeSpan.FromSeconds(10), "closed after the grace period"));
        Assert.All(old, c => Assert.True(c.PeerClosedGracefully && !c.PeerReset, $"connection {c.Id} was not closed with a FIN"));
        await gateway.WaitForLogAsync("0 requests were still in flight", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Reload_RemovingACluster_RetiresItsPool_AndClosesItsConnections()
    {
        await using var a = await UpstreamServer.StartAsync("a");
        await using var b = await UpstreamServer.StartAsync("b");
        var config = GatewayConfig.SingleCluster("one", ("a", a.Url));
        config.Set("ReverseProxy:Routes:two", JsonNode.Parse("""{ "ClusterId": "two", "Match": { "Path": "/two/{**rest}" } }"""));
        config.Set("ReverseProxy:Clusters:two", JsonNode.Parse($$"""{ "Destinations": { "b": { "Address": "{{b.Url}}" } } }"""));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using (var client = gateway.CreateProxyClient())
        {
            Assert.Equal("b", await client.GetStringAsync("/two/x"));
        }

        Assert.Equal(1, b.ConnectionsOpen);
        config.RemovePath("ReverseProxy:Routes:two").RemovePath("ReverseProxy:Clusters:two");
        await gateway.WriteConfigAsync(config.ToJson());

        await Wait.UntilAsync(() => b.ConnectionsOpen == 0, TimeSpan.FromSeconds(10), "the removed cluster's connection to close");
        Assert.Contains("cluster removed from config", gateway.Output);
    }

    [Fact]
    public async Task PoolFigures_OnTheAdminApiAndMetrics_AgreeWithWhatTheUpstreamCounted()
    {
        await using var upstream = await UpstreamServer.StartAsync("up");
        var config = GatewayConfig.SingleCluster(upstream).Set("ReverseProxy:Clusters:backend:ConnectionPool:MaxConnectionsPerServer", 3);
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), AdminEnv);
        Assert.Equal(0, await LoadAsync(gateway, clients: 8, totalRequests: 600));

        using var admin = gateway.CreateManagementClient(AdminToken);
        using var doc = JsonDocument.Parse(await admin.GetStringAsync("/admin/clusters"));
        var pool = doc.RootElement.GetProperty("clusters")[0].GetProperty("pool");

        Assert.Equal(upstream.ConnectionsAccepted, pool.GetProperty("connectionsOpened").GetInt32());
        Assert.Equal(upstream.ConnectionsOpen, pool.GetProperty("connectionsOpen").GetInt32());
        Assert.Equal(upstream.Requests.Count, pool.GetProperty("requests").GetInt32());
        Assert.Equal(600.0 / upstream.ConnectionsAccepted, pool.GetProperty("requestsPerConnection").GetDouble(), precision: 1);

        var metrics = await admin.GetStringAsync("/metrics");
        Assert.Contains($"gateway_pool_connections_opened_total{{otel_scope_name=\"Gateway\",cluster=\"backend\"}} {upstream.ConnectionsAccepted}", metrics);
        Assert.Contains($"gateway_pool_requests_total{{otel_scope_name=\"Gateway\",cluster=\"backend\"}} 600", metrics);
    }

    [Fact]
    public async Task AdminApi_ShowsUnlimitedAndOffPoolSettingsAsNull()
    {
        await using var upstream = await UpstreamServer.StartAsync("up");
        var config = GatewayConfig.SingleCluster(upstream)
            .Set("ReverseProxy:Routes:tuned", JsonNode.Parse("""{ "ClusterId": "tuned", "Match": { "Path": "/tuned/{**rest}" } }"""))
            .Set("ReverseProxy:Clusters:tuned", JsonNode.Parse($$"""
                { "ConnectionPool": { "MaxConnectionsPerServer": 16, "KeepAlivePingDelay": "00:00:30" }, "Destinations": { "d1": { "Address": "{{upstream.Url}}" } } }
                """));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), AdminEnv);

        using var admin = gateway.CreateManagementClient(AdminToken);
        var text = await admin.GetStringAsync("/admin/clusters");
        using var doc = JsonDocument.Parse(text);
        var settings = doc.RootElement.GetProperty("clusters").EnumerateArray()
            .ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("pool").GetProperty("settings").Clone());

        // Built-in: no cap, no HTTP/2 pings. Not int.MaxValue and not Timeout.InfiniteTimeSpan's "-00:00:00.0010000".
        Assert.Equal(JsonValueKind.Null, settings["backend"].GetProperty("maxConnectionsPerServer").ValueKind);
        Assert.Equal(JsonValueKind.Null, settings["backend"].GetProperty("keepAlivePingDelay").ValueKind);
        Assert.Equal(16, settings["tuned"].GetProperty("maxConnectionsPerServer").GetInt32());
        Assert.Equal("00:00:30", settings["tuned"].GetProperty("keepAlivePingDelay").GetString());
        Assert.DoesNotContain("-00:00:00.001", text, StringComparison.Ordinal);
        Assert.DoesNotContain(int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
    }

    /// <summary>Sends <paramref name="totalRequests"/> GETs from <paramref name="clients"/> concurrent keep-alive clients.</summary>
    internal static Task<int> LoadAsync(GatewayProcess gateway, int clients, int totalRequests)
    {
        var remaining = totalRequests;
        return LoadWhileAsync(gateway, clients, () => Interlocked.Decrement(ref remaining) >= 0);
    }

    private static async Task<int> LoadForAsync(GatewayProcess gateway, int clients, TimeSpan duration)
    {
        using var stop = new CancellationTokenSource(duration);
        return await LoadWhileAsync(gateway, clients, () => !stop.IsCancellationRequested);
    }

    /// <summary>Each client sends GETs while <paramref name="more"/> says so; returns the number of failed requests.</summary>
    private static async Task<int> LoadWhileAsync(GatewayProcess gateway, int clients, Func<bool> more)
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients, UseProxy = false })
        {
            BaseAddress = new Uri(gateway.ProxyUrl),
            Timeout = TimeSpan.FromSeconds(30),
        };
        var failures = 0;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (more())
            {
                try
                {
                    using var response = await client.GetAsync("/load");
                    await response.Content.ReadAsByteArrayAsync();
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }));
        return failures;
    }
}
