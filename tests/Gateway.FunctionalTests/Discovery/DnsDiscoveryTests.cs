using System.Diagnostics;
using System.Net;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.Resilience;
using static Gateway.FunctionalTests.Discovery.DiscoveryGatewayKit;

namespace Gateway.FunctionalTests.Discovery;

/// <summary>The gateway (a real process) discovering a headless Service's addresses from a real dnsmasq on loopback.</summary>
public sealed class DnsDiscoveryTests(ITestOutputHelper output)
{
    private const string Name = "orders.shop.svc.cluster.local";

    [Fact]
    public async Task ThreeRecords_SpreadOverAll_ANewRecordGetsTrafficWithinTheRefresh_AndAnOutageOf30s_FailsNothing()
    {
        await using var pods = await Pods.StartAsync("pod-a", "pod-b", "pod-c");
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]> { [Name] = Addresses(pods, "pod-a", "pod-b", "pod-c") });
        await using var gateway = await GatewayProcess.StartAsync(Config(Dns(pods.Port)).ToJson(), Env(dnsServer: dns.Endpoint));
        string Id(string pod) => $"{pods[pod].Address}:{pods.Port}";
        await WaitForDestinationsAsync(gateway, (Id("pod-a"), "ready"), (Id("pod-b"), "ready"), (Id("pod-c"), "ready"));
        using var client = gateway.CreateProxyClient();

        var spread = await SpreadAsync(client, 300);
        output.WriteLine("spread: " + string.Join(", ", spread.Select(p => $"{p.Key}={p.Value}")));
        Assert.Equal(["pod-a", "pod-b", "pod-c"], spread.Keys.Order());
        Assert.All(spread.Values, served => Assert.InRange(served, 60, 135));

        // A new address: in rotation within the refresh interval (1 s here) and a second of slack.
        using var loadClient = gateway.CreateProxyClient();
        await using var load = new SteadyLoad(loadClient, "/load", rate: 100, workers: 4, limit: TimeSpan.FromSeconds(120));
        var added = await pods.AddAsync("pod-d");
        // From the moment dnsmasq serves the new set (it has re-read its file), not from the start of the rewrite.
        await dns.SetRecordsAsync(Name, Addresses(pods, "pod-a", "pod-b", "pod-c", "pod-d"));
        var clock = Stopwatch.StartNew();
        await Wait.UntilAsync(() => !added.Requests.IsEmpty, TimeSpan.FromSeconds(10), "the new address's first request");
        output.WriteLine($"first request on the new address {clock.Elapsed.TotalMilliseconds:F0} ms after dnsmasq served it");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed.TotalMilliseconds:F0} ms");

        // The DNS server is down for 30 s: the last good set keeps serving, the failures are counted.
        await dns.StopAsync();
        var outage = Stopwatch.StartNew();
        await Wait.UntilAsync(async () => await MetricAsync(gateway, "gateway_discovery_errors_total", $"cluster=\"{Cluster}\"") > 0, Deadline, "discovery errors in metrics");
        Assert.Equal(HttpStatusCode.OK, (await gateway.CreateManagementClient().GetAsync("/healthz/ready")).StatusCode);
        // The outage lasts 30 s under load (the duration is the test, not a synchronisation).
        await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, 30 - outage.Elapsed.TotalSeconds)));
        await WaitForDestinationsAsync(gateway, (Id("pod-a"), "ready"), (Id("pod-b"), "ready"), (Id("pod-c"), "ready"), (Id("pod-d"), "ready"));

        // Back, with one address fewer: discovery recovers by itself.
        await dns.SetRecordsAsync(Name, Addresses(pods, "pod-a", "pod-b", "pod-c"));
        await dns.StartAsync();
        await WaitForDestinationsAsync(gateway, (Id("pod-a"), "ready"), (Id("pod-b"), "ready"), (Id("pod-c"), "ready"));
        await load.StopAsync();

        var failed = load.Samples.Where(s => s.Failed).ToList();
        output.WriteLine($"{load.Samples.Count} requests under load, {failed.Count} failed");
        Assert.True(load.Samples.Count > 1000, $"only {load.Samples.Count} requests under load");
        Assert.True(failed.Count == 0, string.Join("\n", failed.Take(10).Select(f => $"{f.StartedAt:F3}s: {f.Status} {f.Error}")));
        Assert.True(await MetricAsync(gateway, "gateway_discovery_updates_total", "result=\"applied\"") >= 3);
    }

    [Fact]
    public async Task AReloadThatChangesTheDiscoveryBlock_KeepsServingTheLastSet_WhileTheNewProviderCannotAnswer()
    {
        await using var pods = await Pods.StartAsync("pod-a", "pod-b");
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]> { [Name] = Addresses(pods, "pod-a", "pod-b") });
        var config = Config(Dns(pods.Port));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), Env(dnsServer: dns.Endpoint));
        string Id(string pod) => $"{pods[pod].Address}:{pods.Port}";
        await WaitForDestinationsAsync(gateway, (Id("pod-a"), "ready"), (Id("pod-b"), "ready"));
        using var loadClient = gateway.CreateProxyClient();
        await using var load = new SteadyLoad(loadClient, "/load", rate: 100, workers: 4, limit: TimeSpan.FromSeconds(60));

        await dns.StopAsync();
        await gateway.WriteConfigAsync(config.Set("ReverseProxy:Clusters:orders:Discovery:Dns:RefreshInterval", "00:00:02").ToJson());
        await gateway.WaitForLogAsync("Configuration reloaded", Deadline);
        await gateway.WaitForLogAsync("discovery stopped (its Discovery block changed)", Deadline);
        var reloadedAt = load.Now;
        await Wait.UntilAsync(() => load.Now > reloadedAt + 3, Deadline, "3 s of load after the reload");
        await load.StopAsync();

        await WaitForDestinationsAsync(gateway, (Id("pod-a"), "ready"), (Id("pod-b"), "ready"));
        var failed = load.Samples.Where(s => s.Failed).ToList();
        // The reload happened under load (100 a second for 3 s; SteadyLoad skips the slots a stalled box misses).
        Assert.True(load.Samples.Count(s => s.StartedAt > reloadedAt) >= 50, $"only {load.Samples.Count(s => s.StartedAt > reloadedAt)} requests under load after the reload ({load.Samples.Count} in all)");
        Assert.True(failed.Count == 0, string.Join("\n", failed.Take(10).Select(f => $"{f.StartedAt:F3}s: {f.Status} {f.Error}")));
    }

    [Fact]
    public async Task WithDiscoveryRunning_SigtermExitsZero_AndAPortInUseExitsThree_WithoutAStackTrace()
    {
        await using var pods = await Pods.StartAsync("pod-a");
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]> { [Name] = Addresses(pods, "pod-a") });
        var config = Config(Dns(pods.Port)).Set("Gateway:Shutdown:ReadinessDelay", "00:00:00").Set("Gateway:Shutdown:DrainTimeout", "00:00:01");
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), Env(dnsServer: dns.Endpoint));
        await WaitForDestinationsAsync(gateway, ($"{pods["pod-a"].Address}:{pods.Port}", "ready"));

        gateway.Signal(GatewayProcess.SIGTERM);

        Assert.Equal(0, await gateway.WaitForExitAsync(Deadline));
        Assert.DoesNotContain("Unhandled exception", gateway.Output, StringComparison.Ordinal);

        // The host is disposed after a failed start too: every provider stops once, cleanly.
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var env = Env(dnsServer: dns.Endpoint);
        env["Kestrel__Endpoints__Proxy__Url"] = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";
        await using var blocked = await GatewayProcess.StartAsync(config.ToJson(), env, waitUntilReady: false);
        Assert.Equal(3, await blocked.WaitForExitAsync(Deadline));
        Assert.Contains("Gateway cannot listen", blocked.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", blocked.Output, StringComparison.Ordinal);
    }

    private static string[] Addresses(Pods pods, params string[] names) => names.Select(n => pods[n].Address.ToString()).ToArray();
}
