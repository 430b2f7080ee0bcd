using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using static Gateway.FunctionalTests.RateLimiting.RateLimitTestKit;

namespace Gateway.FunctionalTests.RateLimiting;

public sealed class SharedRateLimitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ApiKeyPolicy_OnTwoReplicasSharingRedis_AdmitsOneHundredOfThreeHundred_AndKeysAreIndependent()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync("api");
        var config = SingleRoute(upstream, "per-key", Policy("FixedWindow", 100, "Header:X-Api-Key"), redis).ToJson();
        await using var replicas = await StartReplicasAsync(config, 2, waitForRedis: true);
        var clients = replicas.Select(r => r.CreateProxyClient()).ToList();

        var keyA = await SendAsync(clients, 300, apiKey: "key-a");
        var keyB = await SendAsync(clients, 150, apiKey: "key-b");

        output.WriteLine($"key-a: {keyA.Admitted()} admitted, {keyA.Limited()} limited; key-b: {keyB.Admitted()} admitted, {keyB.Limited()} limited");
        Assert.InRange(keyA.Admitted(), 98, 102);
        Assert.Equal(300 - keyA.Admitted(), keyA.Limited());
        Assert.InRange(keyB.Admitted(), 98, 102);
        Assert.Equal(150 - keyB.Admitted(), keyB.Limited());
        keyA.AssertRejectionsWellFormed("per-key", maxRetryAfterSeconds: 60);
        // Both replicas took part in admitting and in rejecting.
        Assert.Contains(keyA.Where((o, i) => i % 2 == 0), o => o.Status == HttpStatusCode.TooManyRequests);
        Assert.Contains(keyA.Where((o, i) => i % 2 == 1), o => o.Status == HttpStatusCode.TooManyRequests);

        var counted = 0.0;
        foreach (var replica in replicas)
        {
            counted += await ScrapeCounterAsync(replica, "gateway_ratelimit_rejections_total", "policy=\"per-key\"", "route=\"all\"");
        }

        Assert.Equal(keyA.Limited() + keyB.Limited(), (int)counted);
    }

    [Fact]
    public async Task EveryAlgorithm_LimitsAcrossTwoReplicas_AndAHugeRedisLimitAdmitsAll()
    {
        await using var redis = await RedisServer.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync("api", handler: async context =>
        {
            if (context.Request.Path.StartsWithSegments("/slow"))
            {
                await release.Task.WaitAsync(TimeSpan.FromSeconds(60));
            }

            await context.Response.WriteAsync("ok");
        });
        var config = WithRedis(GatewayConfig.SingleCluster(upstream), redis);
        var routes = (JsonObject)config["ReverseProxy"]!["Routes"]!;
        routes.Remove("all");
        var policies = new JsonObject
        {
            ["fixed"] = Policy("FixedWindow", 5, "Route"),
            ["sliding"] = Policy("SlidingWindow", 5, "Route").Set("SegmentsPerWindow", 6),
            ["bucket"] = Policy("TokenBucket", 5, "Route").Set("TokensPerPeriod", 1).Set("ReplenishmentPeriod", "00:10:00"),
            ["concurrency"] = Policy("Concurrency", 2, "Route"),
            ["huge"] = Policy("FixedWindow", 100_000_000, "ClientIp"),
        };
        foreach (var (name, _) in policies)
        {
            routes[name] = new JsonObject { ["ClusterId"] = "backend", ["RateLimiterPolicy"] = name, ["Match"] = new JsonObject { ["Path"] = name == "concurrency" ? "/slow" : $"/{name}" } };
        }

        config.Set("Gateway:RateLimiting:Policies", policies);
        await using var replicas = await StartReplicasAsync(config.ToJson(), 2, waitForRedis: true);
        try
        {
            var clients = replicas.Select(r => r.CreateProxyClient()).ToList();
            foreach (var name in new[] { "fixed", "sliding", "bucket" })
            {
                var outcomes = await SendAsync(clients, 12, $"/{name}", parallelism: 2);
                output.WriteLine($"{name}: {outcomes.Admitted()} of 12 admitted");
                Assert.Equal(5, outcomes.Admitted());
                Assert.Equal(7, outcomes.Limited());
                outcomes.AssertRejectionsWellFormed(name, maxRetryAfterSeconds: name == "bucket" ? 600 : 60);
            }

            var huge = await SendAsync(clients, 60, "/huge");
            Assert.Equal(60, huge.Admitted());

            // Concurrency is per replica: two requests held upstream fill replica 0; a third is rejected at once.
            var held = Enumerable.Range(0, 2).Select(_ => clients[0].GetAsync("/slow")).ToList();
            await Wait.UntilAsync(() => upstream.Requests.Count(r => r.PathAndQuery == "/slow") >= 2, TimeSpan.FromSeconds(30), "two held requests upstream");
            using (var third = await clients[0].GetAsync("/slow"))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            }

            release.SetResult();
            foreach (var response in await Task.WhenAll(held))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                response.Dispose();
            }

            using var afterRelease = await clients[0].GetAsync("/slow");
            Assert.Equal(HttpStatusCode.OK, afterRelease.StatusCode);
        }
        finally
        {
            release.TrySetResult();
        }
    }

    [Fact]
    public async Task FixedWindow_TakesPermitsFromRedisInBatches_NeverAdmitsMoreThanTheLimit_AndRejectsAFullWindowLocally()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync("api");
        var config = SingleRoute(upstream, "per-key", Policy("FixedWindow", 1000, "Header:X-Api-Key"), redis).ToJson();
        await using var replicas = await StartReplicasAsync(config, 2, waitForRedis: true);
        var clients = replicas.Select(r => r.CreateProxyClient()).ToList();
        var before = await RedisScriptCallsAsync(redis);

        var outcomes = await SendAsync(clients, 1200, apiKey: "batched");
        var scriptCalls = await RedisScriptCallsAsync(redis) - before;

        output.WriteLine($"{outcomes.Admitted()} admitted, {outcomes.Limited()} limited, {scriptCalls} Redis script calls for 1200 requests");
        // Never more than the limit; a batch left unused on one replica could only ever make it fewer.
        Assert.InRange(outcomes.Admitted(), 990, 1000);
        Assert.Equal(1200 - outcomes.Admitted(), outcomes.Limited());
        Assert.Equal(0, outcomes.ServerErrors());
        // One call per request would be 1200.
        Assert.InRange(scriptCalls, 1, 600);
        outcomes.AssertRejectionsWellFormed("per-key", maxRetryAfterSeconds: 60);

        // Both replicas have seen the window full: until it ends, they reject without asking Redis.
        var beforeFlood = await RedisScriptCallsAsync(redis);
        var flood = await SendAsync(clients, 100, apiKey: "batched");
        Assert.Equal(100, flood.Limited());
        flood.AssertRejectionsWellFormed("per-key", maxRetryAfterSeconds: 60);
        Assert.Equal(0, await RedisScriptCallsAsync(redis) - beforeFlood);
    }

    private static async Task<long> RedisScriptCallsAsync(RedisServer redis)
    {
        using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var stats = await connection.GetServer($"127.0.0.1:{redis.Port}").InfoAsync("commandstats");
        long calls = 0;
        foreach (var entry in stats.SelectMany(group => group))
        {
            // cmdstat_evalsha / cmdstat_eval: "calls=N,usec=...".
            if (entry.Key is "cmdstat_evalsha" or "cmdstat_eval")
            {
                calls += long.Parse(entry.Value.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return calls;
    }

    [Fact]
    public async Task RedisKilled_LocalLimitsApplyWithoutServerErrors_AndSharedLimitsResumeAfterRestart()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync("api");
        var config = SingleRoute(upstream, "per-key", Policy("FixedWindow", 10, "Header:X-Api-Key"), redis).ToJson();
        await using var replicas = await StartReplicasAsync(config, 2, waitForRedis: true);
        var clients = replicas.Select(r => r.CreateProxyClient()).ToList();
        Assert.Equal(10, (await SendAsync(clients, 20, apiKey: "before")).Admitted());

        await redis.KillAsync();
        // 20 requests to each replica: each enforces the limit of 10 on its own.
        var onA = await SendAsync([clients[0]], 20, apiKey: "outage");
        var onB = await SendAsync([clients[1]], 20, apiKey: "outage");
        output.WriteLine($"outage: replica A {onA.Admitted()} admitted, replica B {onB.Admitted()} admitted");
        Assert.Equal(0, onA.ServerErrors() + onB.ServerErrors());
        Assert.Equal(10, onA.Admitted());
        Assert.Equal(10, onB.Admitted());
        onA.AssertRejectionsWellFormed("per-key", maxRetryAfterSeconds: 60);
        foreach (var replica in replicas)
        {
            Assert.Equal(1, replica.CountLog("Rate limiting: Redis unavailable"));
            Assert.True(await ScrapeCounterAsync(replica, "gateway_ratelimit_fallbacks_total", "policy=\"per-key\"", "mode=\"local\"") >= 20);
        }

        await redis.StartProcessAsync();
        var watch = Stopwatch.StartNew();
        foreach (var replica in replicas)
        {
            await replica.WaitForLogAsync("shared limits resumed", TimeSpan.FromSeconds(30));
        }

        var resumedAfter = watch.Elapsed;
        output.WriteLine($"shared limiting resumed on both replicas {resumedAfter.TotalSeconds:F2} s after Redis answered PING");
        Assert.True(resumedAfter < TimeSpan.FromSeconds(5), $"resumed after {resumedAfter.TotalSeconds:F2} s");

        var after = await SendAsync(clients, 20, apiKey: "after");
        Assert.Equal(10, after.Admitted());
        Assert.Equal(0, after.ServerErrors());
        foreach (var replica in replicas)
        {
            Assert.Equal(1, replica.CountLog("Rate limiting: Redis unavailable"));
            Assert.DoesNotContain("Unhandled exception", replica.Output);
        }
    }
}
