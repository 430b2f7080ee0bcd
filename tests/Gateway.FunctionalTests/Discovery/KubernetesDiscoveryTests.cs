using System.Diagnostics;
using System.Net;
using Gateway.FunctionalTests.Affinity;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.Resilience;
using static Gateway.FunctionalTests.Discovery.DiscoveryGatewayKit;

namespace Gateway.FunctionalTests.Discovery;

/// <summary>The gateway (a real process) discovering pods from the fake Kubernetes API, under real load.</summary>
public sealed class KubernetesDiscoveryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string AffinityCookie = ".Gateway.Affinity.orders";

    private readonly string _directory = Directory.CreateTempSubdirectory("gateway-k8s-discovery-").FullName;
    private FakeKubernetesApi _api = null!;
    private string _kubeConfig = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _kubeConfig = _api.WriteKubeConfig(_directory);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task ThreePods_CookielessLoadSpreadsOverAll_AndASessionStaysOnItsPod_AcrossTwoReplicas()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var pods = await Pods.StartAsync("orders-a", "orders-b", "orders-c");
        _api.Upsert(pods.Slice("orders-a", "orders-b", "orders-c"));
        var config = Config(Kubernetes(), affinity: true);
        await using var a = await GatewayProcess.StartAsync(config.ToJson(), Env(_kubeConfig, redis: redis));
        await using var b = await GatewayProcess.StartAsync(config.ToJson(), Env(_kubeConfig, redis: redis));
        await a.WaitForLogAsync("Affinity key ring ready", Deadline);
        await b.WaitForLogAsync("Affinity key ring ready", Deadline);
        await WaitForDestinationsAsync(a, ("orders-a", "ready"), ("orders-b", "ready"), ("orders-c", "ready"));
        await WaitForDestinationsAsync(b, ("orders-a", "ready"), ("orders-b", "ready"), ("orders-c", "ready"));
        using var clientA = a.CreateProxyClient();
        using var clientB = b.CreateProxyClient();

        // One destination per pod: cookie-less requests (each a new session) spread over all three.
        var spread = await SpreadAsync(clientA, 300);
        output.WriteLine("spread: " + string.Join(", ", spread.Select(p => $"{p.Key}={p.Value}")));
        Assert.Equal(["orders-a", "orders-b", "orders-c"], spread.Keys.Order());
        Assert.All(spread.Values, served => Assert.InRange(served, 60, 135)); // 20-45% of 300

        using (var management = a.CreateManagementClient(Token))
        using (var clusters = System.Text.Json.JsonDocument.Parse(await management.GetStringAsync("/admin/clusters")))
        {
            var orders = clusters.RootElement.GetProperty("clusters").EnumerateArray().Single(c => c.GetProperty("id").GetString() == Cluster);
            Assert.All(orders.GetProperty("destinations").EnumerateArray(), d => Assert.Equal("kubernetes", d.GetProperty("source").GetString()));
            var status = orders.GetProperty("discovery");
            Assert.True(status.GetProperty("synced").GetBoolean());
            Assert.Equal("shop/orders:http (cluster 'orders')", status.GetProperty("target").GetString());
            Assert.Equal(3, status.GetProperty("endpoints").GetInt32());
        }

        // The affinity cookie names the pod: it holds on either replica.
        var first = await AffinityKit.SendAsync(clientA, null, cookieName: AffinityCookie);
        Assert.NotNull(first.SetCookieValue);
        for (var i = 0; i < 20; i++)
        {
            var response = await AffinityKit.SendAsync(i % 2 == 0 ? clientB : clientA, first.SetCookieValue, cookieName: AffinityCookie);
            Assert.Equal(HttpStatusCode.OK, response.Status);
            Assert.Equal(first.Upstream, response.Upstream);
        }
    }

    [Fact]
    public async Task ScaleDown_UnderSteadyLoad_FailsNothing_PinnedSessionKeepsTheTerminatingPod_NewSessionsNeverStartOnIt()
    {
        await using var pods = await Pods.StartAsync("orders-a", "orders-b", "orders-c");
        _api.Upsert(pods.Slice("orders-a", "orders-b", "orders-c"));
        await using var gateway = await GatewayProcess.StartAsync(Config(Kubernetes(), affinity: true).ToJson(), Env(_kubeConfig));
        await WaitForDestinationsAsync(gateway, ("orders-a", "ready"), ("orders-b", "ready"), ("orders-c", "ready"));
        using var client = gateway.CreateProxyClient();
        var pinned = (await AffinityKit.PinSessionsAsync("orders-c", 1, AffinityCookie, client))[0];
        using var loadClient = gateway.CreateProxyClient();
        await using var load = new SteadyLoad(loadClient, "/load", rate: 150, workers: 6, limit: TimeSpan.FromSeconds(60));

        // Terminating but still serving: drained, not removed.
        _api.Upsert(pods.Slice(("orders-a", "ready"), ("orders-b", "ready"), ("orders-c", "terminating")));
        await WaitForDestinationsAsync(gateway, ("orders-a", "ready"), ("orders-b", "ready"), ("orders-c", "draining"));
        Assert.Equal(1, await MetricAsync(gateway, "gateway_discovery_endpoints", "condition=\"draining\""));
        Assert.Equal(1, await MetricAsync(gateway, "gateway_destination_draining", "destination=\"orders-c\""));
        var terminatingAt = pods["orders-c"].Requests.Count;
        for (var i = 0; i < 10; i++)
        {
            var response = await AffinityKit.SendAsync(client, pinned, cookieName: AffinityCookie);
            Assert.Equal(HttpStatusCode.OK, response.Status);
            Assert.Equal("orders-c", response.Upstream);
        }

        for (var i = 0; i < 30; i++)
        {
            var fresh = await AffinityKit.SendAsync(client, null, cookieName: AffinityCookie);
            Assert.Equal(HttpStatusCode.OK, fresh.Status);
            Assert.NotEqual("orders-c", fresh.Upstream);
        }

        // Only the pinned session reached the terminating pod: the load's new sessions went elsewhere.
        Assert.Equal(10, pods["orders-c"].Requests.Count - terminatingAt);

        // Gone: removed from rotation; its pooled connections are closed once its requests are done, not left to idle out.
        _api.Upsert(pods.Slice("orders-a", "orders-b"));
        await WaitForDestinationsAsync(gateway, ("orders-a", "ready"), ("orders-b", "ready"));
        await gateway.WaitForLogAsync("endpoint 'orders-c' is gone; closed its", Deadline);
        await Wait.UntilAsync(() => pods["orders-c"].ConnectionsOpen == 0, TimeSpan.FromSeconds(10), "orders-c's connections closed by the gateway");
        await pods["orders-c"].KillAsync();

        // The pinned session moves on without an error (YARP's Redistribute failure policy).
        var moved = await AffinityKit.SendAsync(client, pinned, cookieName: AffinityCookie);
        Assert.Equal(HttpStatusCode.OK, moved.Status);
        Assert.NotEqual("orders-c", moved.Upstream);

        var sent = await WaitForMoreSamples(load, seconds: 1.0);
        await load.StopAsync();
        var failed = load.Samples.Where(s => s.Failed).ToList();
        output.WriteLine($"{load.Samples.Count} requests under load, {failed.Count} failed");
        Assert.True(sent > 100, $"only {sent} requests under load");
        // Endpoint churn never rebuilds the cluster's pool: one invoker from start to end.
        Assert.Equal(1, gateway.CountLog("new connection pool #"));
        Assert.True(failed.Count == 0, string.Join("\n", failed.Take(10).Select(f => $"{f.StartedAt:F3}s: {f.Status} {f.Error}")));
    }

    [Fact]
    public async Task ScaleUp_TheNewPodReceivesTrafficWithinASecondOfTheEndpointSliceEvent()
    {
        await using var pods = await Pods.StartAsync("orders-a", "orders-b");
        _api.Upsert(pods.Slice("orders-a", "orders-b"));
        await using var gateway = await GatewayProcess.StartAsync(Config(Kubernetes()).ToJson(), Env(_kubeConfig));
        await WaitForDestinationsAsync(gateway, ("orders-a", "ready"), ("orders-b", "ready"));
        var added = await pods.AddAsync("orders-c");
        using var loadClient = gateway.CreateProxyClient();
        await using var load = new SteadyLoad(loadClient, "/load", rate: 100, workers: 4, limit: TimeSpan.FromSeconds(30));
        await WaitForMoreSamples(load, seconds: 0.5);

        var clock = Stopwatch.StartNew();
        _api.Upsert(pods.Slice("orders-a", "orders-b", "orders-c"));
        await Wait.UntilAsync(() => !added.Requests.IsEmpty, TimeSpan.FromSeconds(10), "the new pod's first request");
        var elapsed = clock.Elapsed;
        await load.StopAsync();

        output.WriteLine($"first request on the new pod {elapsed.TotalMilliseconds:F0} ms after the EndpointSlice event");
        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"took {elapsed.TotalMilliseconds:F0} ms");
        Assert.DoesNotContain(load.Samples, s => s.Failed);
    }

    [Fact]
    public async Task ApiServerDown30s_UnderLoad_FailsNothing_ErrorsShowInMetrics_AndDiscoveryRecoversByItself()
    {
        await using var pods = await Pods.StartAsync("orders-a", "orders-b", "orders-c");
        _api.Upsert(pods.Slice("orders-a", "orders-b"));
        await using var gateway = await GatewayProcess.StartAsync(Config(Kubernetes()).ToJson(), Env(_kubeConfig));
        await WaitForDestinationsAsync(gateway, ("orders-a", "ready"), ("orders-b", "ready"));
        using var loadClient = gateway.CreateProxyClient();
        await using var load = new SteadyLoad(loadClient, "/load", rate: 100, workers: 4, limit: TimeSpan.FromSeconds(120));

        await _api.StopAsync();
        var outage = Stopwatch.StartNew();
        await Wait.UntilAsync(async () => await MetricAsync(gateway, "gateway_discovery_errors_total", $"cluster=\"{Cluster}\"") > 0, Deadline, "discovery errors in metrics");
        var ready = await gateway.CreateManagementClient().GetAsync("/healthz/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode); // the last known endpoints serve; readiness stays up
        // The outage lasts 30 s under load (the duration is the test, not a synchronisation).
        await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, 30 - outage.Elapsed.TotalSeconds)));
        await WaitForDestinationsAsync(gateway, ("orders-a", "ready"), ("orders-b", "ready"));

        await _api.StartAsync();
        _api.Upsert(pods.Slice("orders-a", "orders-b", "orders-c"));
        await WaitForDestinationsAsync(gateway, ("orders-a", "ready"), ("orders-b", "ready"), ("orders-c", "ready"));
        await load.StopAsync();

        var errors = await MetricAsync(gateway, "gateway_discovery_errors_total", $"cluster=\"{Cluster}\"");
        var failed = load.Samples.Where(s => s.Failed).ToList();
        output.WriteLine($"{load.Samples.Count} requests, {failed.Count} failed; {errors} discovery errors counted");
        Assert.True(load.Samples.Count > 1000, $"only {load.Samples.Count} requests under load");
        Assert.True(failed.Count == 0, string.Join("\n", failed.Take(10).Select(f => $"{f.StartedAt:F3}s: {f.Status} {f.Error}")));
        Assert.Contains("keeping the last 2 endpoints", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RbacDenied_OrAPortTheServiceLacks_IsLoggedWithTheCluster_ReadinessStaysUp_AndTheLastGoodSetServes()
    {
        await using var pods = await Pods.StartAsync("orders-a");
        _api.Upsert(pods.Slice("orders-a"));
        _api.FailWith(403);
        var config = Config(Kubernetes());
        config.Set("ReverseProxy:Clusters:other:Discovery:Kubernetes:Namespace", "shop")
            .Set("ReverseProxy:Clusters:other:Discovery:Kubernetes:Service", "orders")
            .Set("ReverseProxy:Clusters:other:Discovery:Kubernetes:Port", "grpc");
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), Env(_kubeConfig));

        await gateway.WaitForLogAsync("(cluster 'orders')", Deadline);
        Assert.Contains(gateway.OutputLines, line => line.Contains("(cluster 'orders')", StringComparison.Ordinal) && line.Contains("403", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await gateway.CreateManagementClient().GetAsync("/healthz/ready")).StatusCode);

        _api.FailWith(null);
        await WaitForDestinationsAsync(gateway, ("orders-a", "ready"));
        using var client = gateway.CreateProxyClient();
        Assert.Equal("orders-a", await client.GetStringAsync("/"));

        // The other cluster asks for a port named grpc, which the Service does not have: said once, naming both.
        await gateway.WaitForLogAsync("shop/orders:grpc (cluster 'other')", Deadline);
        Assert.Contains(gateway.OutputLines, line => line.Contains("shop/orders:grpc (cluster 'other')", StringComparison.Ordinal) && line.Contains("grpc", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutCredentials_TheClusterSaysWhy_ReadinessIsNotHeld_AndItsRouteAnswersNoHealthyUpstream()
    {
        var env = Env();
        env["KUBECONFIG"] = string.Empty; // not this machine's: no kubeconfig at all, and not in a cluster

        await using var gateway = await GatewayProcess.StartAsync(Config(Kubernetes()).ToJson(), env); // waits for /healthz/ready

        await gateway.WaitForLogAsync("Cluster 'orders': discovery cannot start: not running in a Kubernetes cluster and no kubeconfig given", Deadline);
        using var client = gateway.CreateProxyClient();
        using var response = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("""{"error":"no_healthy_upstream"}""", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, await MetricAsync(gateway, "gateway_discovery_errors_total", $"cluster=\"{Cluster}\""));
    }

    [Fact]
    public async Task AnUnknownDiscoveryProvider_IsRejectedAtStart_WithItsKeyPath()
    {
        var config = Config(new System.Text.Json.Nodes.JsonObject { ["Consul"] = new System.Text.Json.Nodes.JsonObject { ["Service"] = "orders" } });

        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), Env(_kubeConfig), waitUntilReady: false);

        Assert.Equal(2, await gateway.WaitForExitAsync(Deadline));
        Assert.Contains("ReverseProxy:Clusters:orders:Discovery:Consul: is not a discovery provider (known: Kubernetes, Dns)", gateway.Output, StringComparison.Ordinal);
        Assert.Contains("ReverseProxy:Clusters:orders:Discovery: a provider (Kubernetes or Dns) is required", gateway.Output, StringComparison.Ordinal);
    }

    private static async Task<int> WaitForMoreSamples(SteadyLoad load, double seconds)
    {
        var until = load.Now + seconds;
        await Wait.UntilAsync(() => load.Now >= until && load.Samples.Count > 0, TimeSpan.FromSeconds(30), "load samples");
        return load.Samples.Count;
    }
}
