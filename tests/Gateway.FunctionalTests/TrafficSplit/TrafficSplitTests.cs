using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.FunctionalTests.TrafficSplit;

/// <summary>Weighted and sticky splits, header overrides, reloads and tampering, on real gateway processes.</summary>
public sealed class TrafficSplitTests(ITestOutputHelper output)
{
    private const string Cookie = ".Gateway.Cohort.orders";
    private const string Token = "split-admin-token-0123456789";

    /// <summary>Route "orders" (fallback orders-v1) split between orders-v1 and orders-v2, one upstream each.</summary>
    private static JsonObject Config(UpstreamServer v1, UpstreamServer v2, int w1, int w2, bool sticky)
    {
        var config = GatewayConfig.SingleCluster("orders-v1", ("v1", v1.Url));
        config["ReverseProxy"]!["Routes"]!.AsObject().Remove("all");
        return config
            .Set("ReverseProxy:Routes:orders:ClusterId", "orders-v1")
            .Set("ReverseProxy:Routes:orders:Match:Path", "/{**rest}")
            .Set("ReverseProxy:Routes:orders:Split", new JsonObject
            {
                ["Clusters"] = new JsonObject { ["orders-v1"] = w1, ["orders-v2"] = w2 },
                ["Sticky"] = sticky,
                ["Header"] = new JsonObject { ["Name"] = "X-Canary", ["Values"] = new JsonObject { ["always"] = "orders-v2" } },
            })
            .Set("ReverseProxy:Clusters:orders-v2:Destinations:v2:Address", v2.Url)
            .Set("Gateway:Configuration:PollInterval", "00:00:00.2");
    }

    [Fact]
    public async Task NinetyTen_WithoutStickiness_Lands10PercentOnTheCanary()
    {
        await using var v1 = await UpstreamServer.StartAsync("v1");
        await using var v2 = await UpstreamServer.StartAsync("v2");
        await using var gateway = await GatewayProcess.StartAsync(Config(v1, v2, 90, 10, sticky: false).ToJson(),
            new Dictionary<string, string> { ["Gateway__Admin__Token"] = Token });
        using var client = gateway.CreateProxyClient();

        var served = new ConcurrentDictionary<string, int>();
        await Parallel.ForAsync(0, 5000, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            using var response = await client.GetAsync($"{gateway.ProxyUrl}/orders/{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains("Set-Cookie")); // not sticky: no cohort cookie
            served.AddOrUpdate(await response.Content.ReadAsStringAsync(), 1, (_, n) => n + 1);
        });

        var canaryShare = served.GetValueOrDefault("v2") / 5000.0;
        output.WriteLine($"v1 {served.GetValueOrDefault("v1")}, v2 {served.GetValueOrDefault("v2")}");
        Assert.InRange(canaryShare, 0.08, 0.12);

        // The admin API shows the split and the observed share.
        using var admin = gateway.CreateManagementClient(Token);
        var splits = JsonNode.Parse(await admin.GetStringAsync($"{gateway.ManagementUrl}/admin/splits"))!;
        var arms = splits["routes"]![0]!["split"]!["arms"]!.AsArray();
        Assert.Equal(10, arms.Single(a => a!["cluster"]!.GetValue<string>() == "orders-v2")!["weight"]!.GetValue<int>());
        Assert.InRange(arms.Single(a => a!["cluster"]!.GetValue<string>() == "orders-v2")!["observedShare"]!.GetValue<double>(), 0.08, 0.12);
        var metrics = await admin.GetStringAsync($"{gateway.ManagementUrl}/metrics");
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("gateway_split_requests_total{", StringComparison.Ordinal)
            && line.Contains("cluster=\"orders-v2\"", StringComparison.Ordinal) && line.Contains("route=\"orders\"", StringComparison.Ordinal) && line.EndsWith(" 500", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sticky_200SessionsAlternatingReplicas_StayWhereTheyStarted_AndReloadsMoveOnlyWhatTheySay()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var v1 = await UpstreamServer.StartAsync("v1");
        await using var v2 = await UpstreamServer.StartAsync("v2");
        var env = new Dictionary<string, string> { ["Gateway__Redis__Configuration"] = redis.ConnectionString };
        var config = Config(v1, v2, 90, 10, sticky: true);
        await using var a = await StartReplicaAsync(config, env);
        await using var b = await StartReplicaAsync(config, env);
        using var clientA = a.CreateProxyClient();
        using var clientB = b.CreateProxyClient();
        HttpClient Replica(int i) => i % 2 == 0 ? clientA : clientB;

        // 200 sessions, each opened on alternating replicas, then 3 more requests each, alternating again.
        var sessions = new List<(string Cookie, string Cluster)>();
        for (var s = 0; s < 200; s++)
        {
            var (first, cookie) = await SendAsync(Replica(s), cohort: null);
            Assert.NotNull(cookie);
            sessions.Add((cookie!, first!));
        }

        for (var round = 0; round < 3; round++)
        {
            for (var s = 0; s < sessions.Count; s++)
            {
                var (served, reissued) = await SendAsync(Replica(s + round + 1), sessions[s].Cookie);
                Assert.True(served == sessions[s].Cluster, $"session {s} started on {sessions[s].Cluster}, then served by {served}");
                Assert.Null(reissued);
            }
        }

        var canary = sessions.Count(s => s.Cluster == "v2");
        output.WriteLine($"{canary} of 200 sessions on the canary");
        Assert.InRange(canary, 15, 25); // 10% +- 5%

        // 50/50: existing sessions stay where they were.
        await ReloadAsync([a, b], Config(v1, v2, 50, 50, sticky: true));
        for (var s = 0; s < sessions.Count; s++)
        {
            Assert.Equal(sessions[s].Cluster, (await SendAsync(Replica(s), sessions[s].Cookie)).Served);
        }

        // The canary leaves the split: its sessions move to the fallback, and no request fails meanwhile.
        var withoutCanary = Config(v1, v2, 50, 50, sticky: true);
        withoutCanary["ReverseProxy"]!["Routes"]!["orders"]!["Split"]!["Clusters"]!.AsObject().Remove("orders-v2");
        using var load = new CancellationTokenSource();
        var failures = 0;
        var requests = 0;
        var canaryCookies = sessions.Where(s => s.Cluster == "v2").Select(s => s.Cookie).ToArray();
        var background = Task.Run(async () =>
        {
            for (var i = 0; !load.IsCancellationRequested; i++)
            {
                var (served, _) = await SendAsync(Replica(i), canaryCookies[i % canaryCookies.Length], expectOk: false);
                Interlocked.Increment(ref requests);
                if (served is not ("v1" or "v2"))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });
        await ReloadAsync([a, b], withoutCanary);
        await load.CancelAsync();
        await background;
        output.WriteLine($"{requests} requests during the reload, {failures} failed");
        Assert.Equal(0, failures);
        foreach (var cookie in canaryCookies)
        {
            Assert.Equal("v1", (await SendAsync(clientA, cookie)).Served);
        }
    }

    [Fact]
    public async Task HeaderOverride_ForcesTheCanary_AnUnlistedValueIsIgnored_AndATamperedCookieIsANewDraw()
    {
        await using var v1 = await UpstreamServer.StartAsync("v1");
        await using var v2 = await UpstreamServer.StartAsync("v2");
        await using var gateway = await GatewayProcess.StartAsync(Config(v1, v2, 100, 0, sticky: true).ToJson());
        using var client = gateway.CreateProxyClient();

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("v2", (await SendAsync(client, null, canaryHeader: "always")).Served);
            Assert.Equal("v1", (await SendAsync(client, null, canaryHeader: "yes-please")).Served);
        }

        var (_, cookie) = await SendAsync(client, null);
        var bytes = Convert.FromBase64String(cookie!.Replace('-', '+').Replace('_', '/').PadRight(cookie.Length + (4 - (cookie.Length % 4)) % 4, '='));
        bytes[^5] ^= 0x40;
        var tampered = Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_').TrimEnd('=');
        foreach (var forged in new[] { tampered, "not-a-cohort", new string('A', 4000), Convert.ToBase64String(RandomNumberGenerator.GetBytes(64)) })
        {
            var (served, reissued) = await SendAsync(client, forged);
            Assert.Equal("v1", served);
            Assert.NotNull(reissued); // a new draw, a new cookie
        }
    }

    [Fact]
    public async Task SessionAffinity_AppliesInsideTheChosenCluster()
    {
        await using var v1 = await UpstreamServer.StartAsync("v1");
        await using var c1 = await UpstreamServer.StartAsync("c1");
        await using var c2 = await UpstreamServer.StartAsync("c2");
        // Everything to the canary, which has two destinations and session affinity.
        var config = Config(v1, c1, 0, 1, sticky: true)
            .Set("ReverseProxy:Clusters:orders-v2:Destinations:c2:Address", c2.Url)
            .Set("ReverseProxy:Clusters:orders-v2:SessionAffinity:Enabled", true);
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        using var first = await client.GetAsync("/orders");
        var served = await first.Content.ReadAsStringAsync();
        var cookies = first.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]).ToList();
        Assert.Contains(cookies, c => c.StartsWith(Cookie + "=", StringComparison.Ordinal));
        Assert.Contains(cookies, c => c.StartsWith(".Gateway.Affinity.orders-v2=", StringComparison.Ordinal));

        for (var i = 0; i < 10; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/orders");
            request.Headers.TryAddWithoutValidation("Cookie", string.Join("; ", cookies));
            using var response = await client.SendAsync(request);
            Assert.Equal(served, await response.Content.ReadAsStringAsync()); // same cluster, same destination
            Assert.False(response.Headers.Contains("Set-Cookie"));
        }
    }

    [Fact]
    public async Task BadSplitOrMirror_IsRefusedWithItsKeyPath()
    {
        await using var v1 = await UpstreamServer.StartAsync("v1");
        await using var v2 = await UpstreamServer.StartAsync("v2");
        var bad = Config(v1, v2, 0, 0, sticky: true)
            .Set("ReverseProxy:Routes:orders:Split:Clusters:orders-v3", 5)
            .Set("ReverseProxy:Routes:orders:Mirror", new JsonObject { ["ClusterId"] = "orders-v1", ["Percent"] = 150 });
        bad["ReverseProxy"]!["Routes"]!["orders"]!["Split"]!["Clusters"]!["orders-v1"] = -1;

        await using var refused = await GatewayProcess.StartAsync(bad.ToJson(), waitUntilReady: false);

        Assert.Equal(2, await refused.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("ReverseProxy:Routes:orders:Split:Clusters:orders-v1: '-1' must be 0 or more", refused.Output, StringComparison.Ordinal);
        Assert.Contains("ReverseProxy:Routes:orders:Split:Clusters:orders-v3: 'orders-v3' names no cluster", refused.Output, StringComparison.Ordinal);
        Assert.Contains("ReverseProxy:Routes:orders:Mirror:Percent: '150' must be between 0 and 100", refused.Output, StringComparison.Ordinal);
        Assert.Contains("ReverseProxy:Routes:orders:Mirror:ClusterId: 'orders-v1' is a cluster this route already serves from", refused.Output, StringComparison.Ordinal);
    }

    private static async Task<GatewayProcess> StartReplicaAsync(JsonObject config, Dictionary<string, string> env)
    {
        var gateway = await GatewayProcess.StartAsync(config.ToJson(), env);
        await gateway.WaitForLogAsync("Affinity key ring ready", TimeSpan.FromSeconds(30));
        return gateway;
    }

    private static async Task ReloadAsync(GatewayProcess[] replicas, JsonObject config)
    {
        foreach (var replica in replicas)
        {
            var reloads = replica.CountLog("Configuration reloaded");
            await replica.WriteConfigAsync(config.ToJson());
            await replica.WaitForLogAsync("Configuration reloaded", TimeSpan.FromSeconds(30), reloads + 1);
        }
    }

    /// <summary>One request with an optional cohort cookie: the upstream that served it, and a newly issued cohort cookie.</summary>
    private static async Task<(string? Served, string? Cookie)> SendAsync(HttpClient client, string? cohort, string? canaryHeader = null, bool expectOk = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders");
        if (cohort is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", $"{Cookie}={cohort}");
        }

        if (canaryHeader is not null)
        {
            request.Headers.Add("X-Canary", canaryHeader);
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (expectOk)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        else if (response.StatusCode != HttpStatusCode.OK)
        {
            return (null, null);
        }

        string? issued = null;
        if (response.Headers.TryGetValues("Set-Cookie", out var cookies))
        {
            foreach (var header in cookies.Where(c => c.StartsWith(Cookie + "=", StringComparison.Ordinal)))
            {
                var end = header.IndexOf(';');
                issued = header[(Cookie.Length + 1)..(end < 0 ? header.Length : end)];
            }
        }

        return (body, issued);
    }
}
