using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Foundation;

public sealed class HotReloadTests
{
    private static readonly TimeSpan ReloadTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Reload_AddsARoute_AndChangesADestination()
    {
        await using var a = await UpstreamServer.StartAsync("a");
        await using var b = await UpstreamServer.StartAsync("b");
        var config = GatewayConfig.SingleCluster("backend", ("d", a.Url)).Set("ReverseProxy:Routes:all:Match:Path", "/one/{**rest}");
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();
        Assert.Equal("a", await client.GetStringAsync("/one/x"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/two/x")).StatusCode);

        config.Set("ReverseProxy:Routes:two", JsonNode.Parse("""{ "ClusterId": "backend", "Match": { "Path": "/two/{**rest}" } }"""));
        config.Set("ReverseProxy:Clusters:backend:Destinations:d:Address", b.Url);
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("Configuration reloaded", ReloadTimeout);

        Assert.Equal("b", await client.GetStringAsync("/two/x"));
        Assert.Equal("b", await client.GetStringAsync("/one/x"));
    }

    [Fact]
    public async Task TwentyConsecutiveReloads_WhileAClientKeepsSending_FailNoRequest()
    {
        await using var a = await UpstreamServer.StartAsync("a");
        await using var b = await UpstreamServer.StartAsync("b");
        var config = GatewayConfig.SingleCluster("backend", ("d", a.Url));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());

        using var stop = new CancellationTokenSource();
        var failures = new List<string>();
        var sent = 0;
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            using var client = gateway.CreateProxyClient();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync("/ping");
                    Interlocked.Increment(ref sent);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        lock (failures) { failures.Add($"status {(int)response.StatusCode}"); }
                    }
                }
                catch (Exception ex)
                {
                    lock (failures) { failures.Add(ex.Message); }
                }
            }
        })).ToList();

        for (var i = 1; i <= 20; i++)
        {
            // Alternate destinations and add/remove a route, so each reload really changes routing.
            var target = i % 2 == 0 ? a : b;
            config.Set("ReverseProxy:Clusters:backend:Destinations:d:Address", target.Url);
            if (i % 3 == 0)
            {
                config.Set($"ReverseProxy:Routes:extra{i}", JsonNode.Parse("""{ "ClusterId": "backend", "Match": { "Path": "/extra/{**rest}" } }"""));
            }

            await gateway.WriteConfigAsync(config.ToJson());
            await gateway.WaitForLogAsync("Configuration reloaded", ReloadTimeout, count: i);
            await Wait.UntilAsync(() => target.Requests.Any(), ReloadTimeout, $"traffic on {target.Name} after reload {i}");
            target.Requests.Clear();
        }

        stop.Cancel();
        await Task.WhenAll(clients);
        Assert.True(sent > 100, $"only {sent} requests were sent");
        Assert.Empty(failures);
        Assert.Equal(0, gateway.CountLog("rejected"));
    }

    [Fact]
    public async Task InvalidReload_IsRejected_LoggedWithItsKeyPath_Counted_AndTheOldRoutesKeepServing()
    {
        await using var a = await UpstreamServer.StartAsync("a");
        var config = GatewayConfig.SingleCluster("backend", ("d", a.Url));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        config.Set("ReverseProxy:Clusters:backend:Destinations:d:Address", "not a url");
        config.Set("ReverseProxy:Routes:all:Match:Path", "/changed/{**rest}");
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("rejected", ReloadTimeout);

        Assert.Contains("ReverseProxy:Clusters:backend:Destinations:d:Address: 'not a url'", gateway.Output);
        Assert.Equal("a", await client.GetStringAsync("/still/served"));
        using var management = gateway.CreateManagementClient();
        var metrics = await management.GetStringAsync("/metrics");
        Assert.Contains("gateway_config_reloads_total{otel_scope_name=\"Gateway\",result=\"rejected\"} 1", metrics);

        // Broken JSON is rejected the same way, and a later good edit still applies.
        await File.WriteAllTextAsync(gateway.ConfigPath, "{ \"ReverseProxy\": ");
        await gateway.WaitForLogAsync("rejected", ReloadTimeout, count: 2);
        Assert.Equal("a", await client.GetStringAsync("/still/served"));

        config.Set("ReverseProxy:Clusters:backend:Destinations:d:Address", a.Url);
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("Configuration reloaded", ReloadTimeout);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/still/served")).StatusCode);
        Assert.Equal("a", await client.GetStringAsync("/changed/x"));
    }

    [Fact]
    public async Task KubernetesConfigMapSwap_ThroughTheDataSymlink_IsPickedUp()
    {
        await using var a = await UpstreamServer.StartAsync("a");
        await using var b = await UpstreamServer.StartAsync("b");

        // The layout kubelet creates: gateway.json -> ..data/gateway.json, ..data -> ..<timestamp>/
        var mount = Directory.CreateTempSubdirectory("gateway-configmap-").FullName;
        var first = Path.Combine(mount, "..2026_11_28_10_00_00.000000001");
        Directory.CreateDirectory(first);
        await File.WriteAllTextAsync(Path.Combine(first, "gateway.json"), GatewayConfig.SingleCluster("backend", ("d", a.Url)).ToJson());
        File.CreateSymbolicLink(Path.Combine(mount, "..data"), Path.GetFileName(first));
        File.CreateSymbolicLink(Path.Combine(mount, "gateway.json"), Path.Combine("..data", "gateway.json"));

        await using var gateway = await GatewayProcess.StartWithConfigFileAsync(mount, Path.Combine(mount, "gateway.json"), environment: null);
        using var client = gateway.CreateProxyClient();
        Assert.Equal("a", await client.GetStringAsync("/"));

        // kubelet's atomic update: new timestamped dir, a ..data_tmp symlink to it, renamed over ..data.
        var second = Path.Combine(mount, "..2026_11_28_10_05_00.000000002");
        Directory.CreateDirectory(second);
        await File.WriteAllTextAsync(Path.Combine(second, "gateway.json"), GatewayConfig.SingleCluster("backend", ("d", b.Url)).ToJson());
        var temp = Path.Combine(mount, "..data_tmp");
        File.CreateSymbolicLink(temp, Path.GetFileName(second));
        Rename(temp, Path.Combine(mount, "..data"));
        Directory.Delete(first, recursive: true);

        await gateway.WaitForLogAsync("Configuration reloaded", ReloadTimeout);
        Assert.Equal("b", await client.GetStringAsync("/"));
    }

    /// <summary>rename(2) replaces a symlink atomically; File.Move refuses to overwrite a directory link.</summary>
    private static void Rename(string from, string to)
    {
        if (rename(from, to) != 0)
        {
            throw new IOException($"rename {from} -> {to} failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int rename(string oldpath, string newpath);
}
