using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Affinity;

public sealed class DestinationDrainTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Drain_KeepsPinnedSessions_SendsNewOnesElsewhere_ReachesReplicaBWithin1s_AndUndrainRestores()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var d1 = await UpstreamServer.StartAsync("d1");
        await using var d2 = await UpstreamServer.StartAsync("d2");
        await using var d3 = await UpstreamServer.StartAsync("d3");
        var config = AffinityKit.Config(d1, d2, d3);
        await using var a = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env(redis));
        await using var b = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env(redis));
        using var clientA = a.CreateProxyClient();
        using var clientB = b.CreateProxyClient();
        using var managementB = b.CreateManagementClient(AffinityKit.Token);

        var pinned = await AffinityKit.PinSessionsAsync("d1", 20, clientA, clientB);

        // Drain through A; measure from A's acknowledgement (mark stored in Redis and published) until replica B applies
        // it (B's log line, read from its stdout pipe, so slow admin round-trips on a loaded box do not inflate it).
        var watch = Stopwatch.StartNew();
        await AffinityKit.DrainAsync(a, "d1");
        var acknowledged = watch.Elapsed;
        await Wait.UntilAsync(() => b.CountLog("Destination 'backend/d1' draining=True") > 0, TimeSpan.FromSeconds(10), "drain mark applied on replica B", pollMs: 2);
        var appliedOnB = watch.Elapsed;
        var propagated = appliedOnB - acknowledged; // <= 0 when B applied it before A's answer reached the test
        await Wait.UntilAsync(() => AffinityKit.IsDrainingAsync(managementB, "d1"), TimeSpan.FromSeconds(10), "drain mark in replica B's admin API");
        output.WriteLine($"drain: POST on A answered after {acknowledged.TotalMilliseconds:F0} ms; replica B applied it {appliedOnB.TotalMilliseconds:F0} ms after the POST was sent; B's admin API showed it {(watch.Elapsed - acknowledged).TotalMilliseconds:F0} ms after the POST answered");
        Assert.True(propagated < TimeSpan.FromSeconds(1), $"drain mark took {propagated.TotalMilliseconds:F0} ms to reach replica B");

        // Every pinned session still reaches d1, through either replica, and keeps its cookie.
        foreach (var cookie in pinned)
        {
            foreach (var client in new[] { clientA, clientB })
            {
                var response = await AffinityKit.SendAsync(client, cookie);
                Assert.Equal(HttpStatusCode.OK, response.Status);
                Assert.Equal("d1", response.Upstream);
                Assert.Null(response.SetCookieValue);
            }
        }

        // 200 new sessions: none on d1, both others used.
        var landed = new Dictionary<string, int>();
        for (var i = 0; i < 200; i++)
        {
            var response = await AffinityKit.SendAsync(i % 2 == 0 ? clientA : clientB, null);
            Assert.Equal(HttpStatusCode.OK, response.Status);
            Assert.NotNull(response.SetCookieValue);
            landed[response.Upstream!] = landed.GetValueOrDefault(response.Upstream!) + 1;
        }

        output.WriteLine("new sessions while d1 drains: " + string.Join(", ", landed.Select(p => $"{p.Key}={p.Value}")));
        Assert.False(landed.ContainsKey("d1"));
        Assert.Equal(200, landed.GetValueOrDefault("d2") + landed.GetValueOrDefault("d3"));
        Assert.True(landed.GetValueOrDefault("d2") > 0 && landed.GetValueOrDefault("d3") > 0);

        // Metrics: the gauge and the outcome counter.
        using var metricsClient = a.CreateManagementClient();
        await Wait.UntilAsync(async () =>
        {
            var text = await metricsClient.GetStringAsync("/metrics");
            return Regex.IsMatch(text, @"gateway_destination_draining\{[^}]*destination=""d1""[^}]*\} 1")
                && Regex.IsMatch(text, @"gateway_affinity_outcomes_total\{[^}]*outcome=""pinned""[^}]*\} [1-9]")
                && Regex.IsMatch(text, @"gateway_affinity_outcomes_total\{[^}]*outcome=""new""[^}]*\} [1-9]");
        }, AffinityKit.Deadline, "draining gauge and affinity outcome counters in /metrics");

        // Undrain through B: new sessions reach d1 again on both replicas.
        await AffinityKit.DrainAsync(b, "d1", drain: false);
        using var managementA = a.CreateManagementClient(AffinityKit.Token);
        await Wait.UntilAsync(async () => !await AffinityKit.IsDrainingAsync(managementA, "d1"), TimeSpan.FromSeconds(10), "undrain on replica A");
        foreach (var client in new[] { clientA, clientB })
        {
            var seen = new HashSet<string>();
            for (var i = 0; i < 9; i++)
            {
                seen.Add((await AffinityKit.SendAsync(client, null)).Upstream!);
            }

            Assert.Contains("d1", seen);
        }
    }

    [Fact]
    public async Task Drain_SurvivesConfigReload_AndIsSeenByAReplicaStartedLater()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var d1 = await UpstreamServer.StartAsync("d1");
        await using var d2 = await UpstreamServer.StartAsync("d2");
        await using var d3 = await UpstreamServer.StartAsync("d3");
        var config = AffinityKit.Config(d1, d2, d3);
        await using var a = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env(redis));
        await AffinityKit.DrainAsync(a, "d1");

        // A reload that changes the cluster (a new destination) and adds a route rebuilds YARP's state objects.
        await using var d4 = await UpstreamServer.StartAsync("d4");
        config.Set("ReverseProxy:Clusters:backend:Destinations:d4", new JsonObject { ["Address"] = d4.Url });
        config.Set("ReverseProxy:Routes:extra", JsonNode.Parse("""{ "ClusterId": "backend", "Match": { "Path": "/extra/{**rest}" } }"""));
        await a.WriteConfigAsync(config.ToJson());
        await a.WaitForLogAsync("Configuration reloaded", AffinityKit.Deadline);

        using var managementA = a.CreateManagementClient(AffinityKit.Token);
        Assert.True(await AffinityKit.IsDrainingAsync(managementA, "d1"));
        await AssertNoNewSessionOnD1Async(a, expectD4: true);

        // A replica started after the drain loads the mark from Redis.
        await using var c = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env(redis));
        using var managementC = c.CreateManagementClient(AffinityKit.Token);
        await Wait.UntilAsync(() => AffinityKit.IsDrainingAsync(managementC, "d1"), TimeSpan.FromSeconds(10), "drain mark on the late replica");
        await AssertNoNewSessionOnD1Async(c, expectD4: true);
    }

    [Fact]
    public async Task WithoutRedis_DrainIsLocal_AndSurvivesReload()
    {
        await using var d1 = await UpstreamServer.StartAsync("d1");
        await using var d2 = await UpstreamServer.StartAsync("d2");
        var config = AffinityKit.Config(d1, d2);
        await using var a = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env());
        await using var b = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env());
        await AffinityKit.DrainAsync(a, "d1");

        config.Set("ReverseProxy:Routes:extra", JsonNode.Parse("""{ "ClusterId": "backend", "Match": { "Path": "/extra/{**rest}" } }"""));
        await a.WriteConfigAsync(config.ToJson());
        await a.WaitForLogAsync("Configuration reloaded", AffinityKit.Deadline);

        using var managementA = a.CreateManagementClient(AffinityKit.Token);
        using var managementB = b.CreateManagementClient(AffinityKit.Token);
        Assert.True(await AffinityKit.IsDrainingAsync(managementA, "d1"));
        Assert.False(await AffinityKit.IsDrainingAsync(managementB, "d1"));
        await AssertNoNewSessionOnD1Async(a, expectD4: false);

        // Unknown destinations are refused rather than silently "drained".
        using var unknown = await AffinityKit.AdminPostAsync(a, "/admin/clusters/backend/destinations/nope/drain");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    private static async Task AssertNoNewSessionOnD1Async(GatewayProcess gateway, bool expectD4)
    {
        using var client = gateway.CreateProxyClient();
        var seen = new HashSet<string>();
        for (var i = 0; i < 30; i++)
        {
            var response = await AffinityKit.SendAsync(client, null);
            Assert.Equal(HttpStatusCode.OK, response.Status);
            seen.Add(response.Upstream!);
        }

        Assert.DoesNotContain("d1", seen);
        Assert.Equal(expectD4, seen.Contains("d4"));
    }
}
