using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using Gateway.RateLimiting;
using Gateway.SharedState;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Gateway.Tests.RateLimiting;

/// <summary>
/// One partition of one policy, built through the gateway's composition (settings, store, metrics from DI; the clock is
/// a <see cref="ManualTime"/>). Shared paths talk to <see cref="FakeRedis"/>, whose windows run on the same clock, so a
/// window boundary is an exact tick; policy reloads go through the real config store.
/// </summary>
public sealed class PartitionLimiterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    // ---- Without Redis: the per-replica limiter ----

    [Fact]
    public async Task Local_FixedWindow_AdmitsThePermitLimitThroughEitherAcquirePath_ThenRejects()
    {
        var time = new ManualTime();
        await using var gateway = TestGateway.Start(Config(Policy(limit: 3)), time);
        using var limiter = Limiter(gateway);

        Assert.True(limiter.AttemptAcquire().IsAcquired);
        Assert.True((await limiter.AcquireAsync()).IsAcquired);
        Assert.True(limiter.AttemptAcquire().IsAcquired);
        Assert.False(limiter.AttemptAcquire().IsAcquired);
        Assert.False((await limiter.AcquireAsync()).IsAcquired);

        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(limiter.IdleDuration); // a window in progress: evicting the partition would forget its count
    }

    [Fact]
    public async Task Local_ReloadChangingThePolicy_StartsAFreshCount_AndAReloadLeavingItAloneKeepsTheCount()
    {
        var time = new ManualTime();
        await using var gateway = TestGateway.Start(Config(Policy(limit: 2)), time);
        using var limiter = Limiter(gateway);
        Assert.True(limiter.AttemptAcquire().IsAcquired);
        Assert.True(limiter.AttemptAcquire().IsAcquired);
        Assert.False(limiter.AttemptAcquire().IsAcquired);

        // Another part of the file changed: the policy's settings (and so this window's count) stay.
        gateway.Reload(Config(Policy(limit: 2)).Set("ReverseProxy:Routes:all:Match:Path", "/api/{**rest}"));
        Assert.False(limiter.AttemptAcquire().IsAcquired);

        gateway.Reload(Config(Policy(limit: 3)));
        Assert.True(limiter.AttemptAcquire().IsAcquired);
        Assert.True(limiter.AttemptAcquire().IsAcquired);
        Assert.True(limiter.AttemptAcquire().IsAcquired);
        Assert.False(limiter.AttemptAcquire().IsAcquired);
    }

    [Fact]
    public async Task Concurrency_StaysLocalEvenWithRedis_AndALeaseOutKeepsThePartitionAlive()
    {
        var time = new ManualTime();
        await using var redis = new FakeRedis(time);
        await using var gateway = await StartAsync(Policy("Concurrency", limit: 1), time, redis);
        using var limiter = Limiter(gateway);

        var held = limiter.AttemptAcquire();
        Assert.True(held.IsAcquired);
        Assert.False((await limiter.AcquireAsync()).IsAcquired);
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(limiter.IdleDuration); // in use: the partitioned limiter must not evict it

        held.Dispose();
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(TimeSpan.FromSeconds(305), limiter.IdleDuration); // since its last acquire, on the gateway's clock
        Assert.True(limiter.AttemptAcquire().IsAcquired);
        Assert.Equal(0, redis.ScriptCalls); // a lease kept in Redis would leak with a dead replica
        Assert.Empty(redis.Keys());
    }

    // ---- Redis configured but unreachable: FailureMode ----

    [Theory]
    [InlineData("Local")]
    [InlineData("Open")]
    [InlineData("Closed")]
    public async Task RedisUnreachable_TheFailureModeDecides_AndEachDecisionCountsAsAFallback(string mode)
    {
        var time = new ManualTime();
        var config = Config(Policy(limit: 2, failureMode: mode))
            .Set("Gateway:Redis:Configuration", $"127.0.0.1:{ClosedPort()},abortConnect=false,connectTimeout=2000,connectRetry=0");
        await using var gateway = TestGateway.Start(config, time);
        Assert.False((await gateway.Get<SharedRedis>().GetConnectionAsync())!.IsConnected);
        using var fallbacks = new CounterRecorder(gateway.Get<IMeterFactory>(), "gateway.ratelimit.fallbacks", "mode");
        using var limiter = Limiter(gateway);

        var leases = new List<RateLimitLease>();
        for (var i = 0; i < 5; i++)
        {
            leases.Add(await limiter.AcquireAsync());
        }

        var admitted = leases.Count(l => l.IsAcquired);
        switch (mode)
        {
            case "Local":
                Assert.Equal(2, admitted); // the per-replica limit
                break;
            case "Open":
                Assert.Equal(5, admitted);
                break;
            default:
                Assert.Equal(0, admitted);
                Assert.All(leases, l => Assert.Equal(RedisRateLimitStore.BreakDuration, RetryAfter(l)));
                break;
        }

        Assert.Equal(5, fallbacks[mode.ToLowerInvariant()]);
        Assert.Equal(5, fallbacks.Total);
    }

    // ---- Shared FixedWindow: batches ----

    [Fact]
    public async Task SharedFixedWindow_TakesABatch_AndAdmitsFromItWithoutARoundTrip_NeverMoreThanRedisCounted()
    {
        var time = new ManualTime();
        await using var redis = new FakeRedis(time);
        await using var gateway = await StartAsync(Policy(limit: 1600), time, redis);
        using var limiter = Limiter(gateway);

        Assert.True(IsPending(limiter.AttemptAcquire())); // nothing taken yet: the middleware must call AcquireAsync
        Assert.True((await limiter.AcquireAsync()).IsAcquired); // the first check takes one permit (nothing known about the window)
        Assert.True((await limiter.AcquireAsync()).IsAcquired); // then 1/16 of what is left: 1599 / 16 = 99
        Assert.Equal(2, redis.ScriptCalls);
        Assert.Equal(100, redis.Count(Key(redis)));

        Assert.Equal(98, TakeLocally(limiter));
        Assert.Equal(2, redis.ScriptCalls);
        Assert.True(IsPending(limiter.AttemptAcquire()));

        Assert.True((await limiter.AcquireAsync()).IsAcquired);
        Assert.Equal(3, redis.ScriptCalls);
    }

    [Fact]
    public async Task SharedFixedWindow_NeverTakesMoreThanMaxBatchInOneRoundTrip()
    {
        var time = new ManualTime();
        await using var redis = new FakeRedis(time);
        await using var gateway = await StartAsync(Policy(limit: 1_000_000), time, redis);
        using var limiter = Limiter(gateway);
        await limiter.AcquireAsync();
        await limiter.AcquireAsync(); // 999,999 / 16 would be 62,499

        Assert.Equal(1 + PartitionLimiter.MaxBatch, redis.Count(Key(redis)));
        Assert.Equal(PartitionLimiter.MaxBatch - 1, TakeLocally(limiter));
    }

    [Fact]
    public async Task SharedFixedWindow_BatchLapsesExactlyWhenRedisWindowEnds_AndTheNextWindowStartsAFreshBatch()
    {
        var time = new ManualTime();
        await using var redis = new FakeRedis(time);
        await using var gateway = await StartAsync(Policy(limit: 1600, window: "00:01:00"), time, redis);
        using var limiter = Limiter(gateway);
        await limiter.AcquireAsync();
        await limiter.AcquireAsync(); // 99 taken, 98 left here

        time.Advance(TimeSpan.FromMinutes(1) - Tick);
        Assert.True(limiter.AttemptAcquire().IsAcquired);

        time.Advance(Tick); // Redis's window ends on this tick: so do its permits here
        Assert.True(IsPending(limiter.AttemptAcquire()));
        Assert.Equal(0, redis.Count(Key(redis)));

        // The next window: 1500 were left, so this asks for 1500 / 16 = 93. The 97 unused ones are not added to them.
        Assert.True((await limiter.AcquireAsync()).IsAcquired);
        Assert.Equal(93, redis.Count(Key(redis)));
        Assert.Equal(92, TakeLocally(limiter));
        Assert.Equal(2, redis.Windows().Count);
    }

    [Fact]
    public async Task SharedFixedWindow_BatchEndIsCountedFromWhenTheRequestWasSent_SoASlowReplyCannotOutliveRedisWindow()
    {
        var time = new ManualTime();
        await using var redis = new FakeRedis(time);
        await using var gateway = await StartAsync(Policy(limit: 1600, window: "00:01:00"), time, redis);
        using var limiter = Limiter(gateway);
        await limiter.AcquireAsync(); // the window starts now, for 60 s

        var held = redis.HoldNextReply();
        var batch = limiter.AcquireAsync().AsTask();
        await held.HasRun; // Redis granted 99 with 60 s left...
        time.Advance(TimeSpan.FromSeconds(10)); // ...and the reply takes 10 s to arrive
        held.Release();
        Assert.True((await batch).IsAcquired);

        time.Advance(TimeSpan.FromSeconds(50) - Tick);
        Assert.True(limiter.AttemptAcquire().IsAcquired);
        time.Advance(Tick);
        Assert.True(IsPending(limiter.AttemptAcquire()), "a batch must not outlive the Redis window it was taken in");
    }

    /// <summary>
    /// A batch requested just before the window ends is answered after it ended: it was Redis's old window that
    /// granted it, so its leftovers are dead on arrival. Several threads then take the new window: exactly its limit.
    /// </summary>
    [Fact]
    public async Task TwoWindowsRacing_OldWindowsBatchArrivingInTheNewWindow_IsNotSpent_AndSeveralThreadsGetExactlyTheNewLimit()
    {
        const int Limit = 1600;
        var time = new ManualTime();
        await using var redis = new FakeRedis(time);
        await using var gateway = await StartAsync(Policy(limit: Limit, window: "00:01:00"), time, redis);
        using var limiter = Limiter(gateway);
        await limiter.AcquireAsync(); // window 1 starts

        time.Advance(TimeSpan.FromSeconds(59.5));
        var held = redis.HoldNextReply();
        var late = limiter.AcquireAsync().AsTask();
        await held.HasRun; // 99 granted from window 1, with 500 ms left
        time.Advance(TimeSpan.FromSeconds(1.5)); // window 1 ends while the reply is on its way
        held.Release();
        Assert.True((await late).IsAcquired); // decided by window 1
        Assert.True(IsPending(limiter.AttemptAcquire()), "window 1's 98 leftovers must not be spent in window 2");

        var admitted = 0;
        var rejectedWithoutRetryAfter = 0;
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var threads = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            await go.Task;
            while (true)
            {
                var lease = limiter.AttemptAcquire();
                if (IsPending(lease))
                {
                    lease = await limiter.AcquireAsync();
                }

                if (!lease.IsAcquired)
                {
                    if (RetryAfter(lease) is null)
                    {
                        Interlocked.Increment(ref rejectedWithoutRetryAfter);
                    }

                    return;
                }

                Interlocked.Increment(ref admitted);
            }
        })).ToArray();
        go.SetResult();
        await Task.WhenAll(threads);

        Assert.Equal(Limit, admitted);
        Assert.Equal(Limit, redis.Count(Key(redis)));
        Assert.Equal(0, rejectedWithoutRetryAfter);
        Assert.Equal(2, redis.Windows().Count);
    }

    /// <summary>
    /// Several threads take permits while they also move the clock through a dozen windows, so batches are requested,
    /// answered and spent across window boundaries in whatever order the scheduler gives. The clock runs fast through
    /// odd windows (fewer attempts than permits: batches are left over when they end) and slowly through even ones
    /// (far more attempts than permits). A request that starts and ends in one Redis window was decided in it: no
    /// window may see more such admissions than its limit, and nothing is admitted that Redis did not grant.
    /// </summary>
    [Fact]
    public async Task TwoWindowsRacing_WhileSeveralThreadsMoveTimeThroughWindows_NoWindowAdmitsMoreThanItsLimit()
    {
        const int Limit = 300;
        const int Attempts = 13_500;
        var window = TimeSpan.FromMilliseconds(500);
        var step = TimeSpan.FromMilliseconds(10);
        var time = new ManualTime();
        var origin = time.GetTimestamp();
        await using var redis = new FakeRedis(time);
        await using var gateway = await StartAsync(Policy(limit: Limit, window: "00:00:00.500"), time, redis);
        using var limiter = Limiter(gateway);

        var attempts = 0;
        var sinceStep = 0;
        var outcomes = new ConcurrentBag<(long Before, long After, bool Admitted)>();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var threads = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            await go.Task;
            while (Interlocked.Increment(ref attempts) <= Attempts)
            {
                var odd = time.GetElapsedTime(origin).Ticks / window.Ticks % 2 == 1;
                if (Interlocked.Increment(ref sinceStep) >= (odd ? 5 : 40))
                {
                    Interlocked.Exchange(ref sinceStep, 0);
                    time.Advance(step); // 50 steps a window: ~250 attempts in an odd one, ~2000 in an even one
                }

                var before = time.GetTimestamp();
                var lease = limiter.AttemptAcquire();
                if (IsPending(lease))
                {
                    lease = await limiter.AcquireAsync();
                }

                outcomes.Add((before, time.GetTimestamp(), lease.IsAcquired));
            }
        })).ToArray();
        go.SetResult();
        await Task.WhenAll(threads);

        var windows = redis.Windows();
        var admitted = outcomes.Where(o => o.Admitted).ToList();
        var perWindow = windows.Select(w => admitted.Count(o => o.Before >= w.Start && o.After < w.End)).ToList();
        output.WriteLine($"{admitted.Count} admitted of {Attempts}, {redis.Granted} granted by Redis in {redis.ScriptCalls} calls; per window: {string.Join(" ", perWindow)}");

        Assert.InRange(windows.Count, 8, 16);
        Assert.All(perWindow, count => Assert.InRange(count, 0, Limit));
        Assert.InRange(admitted.Count, Limit, (int)redis.Granted);
        Assert.Contains(perWindow, count => count > Limit * 9 / 10); // the limit was actually in play
    }

    // ---- Shared FixedWindow: the 'window full' mark ----

    [Fact]
    public async Task FullWindow_IsRejectedLocallyUntilItEnds_WithTheTimeLeftAsRetryAfter()
    {
        var time = new ManualTime();
        await using var redis = new FakeRedis(time);
        await using var gateway = await StartAsync(Policy(limit: 2, window: "00:01:00"), time, redis);
        using var limiter = Limiter(gateway);
        Assert.True((await limiter.AcquireAsync()).IsAcquired);
        Assert.True((await limiter.AcquireAsync()).IsAcquired);

        var full = await limiter.AcquireAsync();
        Assert.False(full.IsAcquired);
        Assert.Equal(TimeSpan.FromMinutes(1), RetryAfter(full));
        Assert.Equal(3, redis.ScriptCalls);

        time.Advance(TimeSpan.FromSeconds(20));
        var local = limiter.AttemptAcquire();
        Assert.False(local.IsAcquired);
        Assert.Equal(TimeSpan.FromSeconds(40), RetryAfter(local));
        Assert.Equal(TimeSpan.FromSeconds(40), RetryAfter(await limiter.AcquireAsync()));
        Assert.Equal(3, redis.ScriptCalls); // no round trip while the window is known to be full

        time.Advance(TimeSpan.FromSeconds(40) - Tick);
        Assert.Equal(Tick, RetryAfter(limiter.AttemptAcquire()));
        time.Advance(Tick);
        Assert.True(IsPending(limiter.AttemptAcquire()));
        Assert.True((await limiter.AcquireAsync()).IsAcquired); // a new window
        Assert.Equal(4, redis.ScriptCalls);
    }

    /// <summary>
    /// A reload raised the limit of a window marked full. The new settings skip the old mark, and the first grant under
    /// them clears it: once their batch is spent, the next request asks Redis (which has room) instead of being
    /// rejected locally by the stale mark.
    /// </summary>
    [Fact]
    public async Task FullMark_IsClearedByAGrant_SoAReloadThatRaisedTheLimitIsNotRejectedLocallyLater()
    {
        var time = new ManualTime();
        await using var redis = new FakeRedis(time);
        await using var gateway = await StartAsync(Policy(limit: 2, window: "00:01:00"), time, redis);
        using var limiter = Limiter(gateway);
        await limiter.AcquireAsync();
        await limiter.AcquireAsync();
        Assert.False((await limiter.AcquireAsync()).IsAcquired);
        Assert.NotNull(RetryAfter(limiter.AttemptAcquire())); // marked full for this window

        gateway.Reload(Config(Policy(limit: 1600), redis));
        Assert.True(IsPending(limiter.AttemptAcquire()), "the old settings' mark must not reject under the new ones");
        Assert.True((await limiter.AcquireAsync()).IsAcquired); // 1 (nothing was left last time)
        Assert.True((await limiter.AcquireAsync()).IsAcquired); // a batch: 1597 / 16 = 99
        Assert.Equal(98, TakeLocally(limiter));

        var next = limiter.AttemptAcquire();
        Assert.True(IsPending(next), $"the window has room: ask Redis, not reject (Retry-After {RetryAfter(next)})");
        Assert.True((await limiter.AcquireAsync()).IsAcquired);
    }

    [Fact]
    public async Task Reload_ABatchTakenUnderReplacedSettingsIsNotSpent_ButAReloadLeavingThePolicyAloneKeepsIt()
    {
        var time = new ManualTime();
        await using var redis = new FakeRedis(time);
        await using var gateway = await StartAsync(Policy(limit: 1600), time, redis);
        using var limiter = Limiter(gateway);
        await limiter.AcquireAsync();
        await limiter.AcquireAsync(); // 98 left here
        Assert.True(limiter.AttemptAcquire().IsAcquired);

        gateway.Reload(Config(Policy(limit: 1600), redis).Set("ReverseProxy:Routes:all:Match:Path", "/api/{**rest}"));
        Assert.True(limiter.AttemptAcquire().IsAcquired);

        gateway.Reload(Config(Policy(limit: 200), redis)); // lowered: what was taken under 1600 is not spent under 200
        Assert.True(IsPending(limiter.AttemptAcquire()));
    }

    [Theory]
    [InlineData("SlidingWindow")]
    [InlineData("TokenBucket")]
    public async Task SharedOtherAlgorithms_NeverDecideInTheSynchronousPath(string algorithm)
    {
        var time = new ManualTime();
        await using var redis = new FakeRedis(time);
        await using var gateway = await StartAsync(Policy(algorithm, limit: 1600), time, redis);
        using var limiter = Limiter(gateway);

        for (var i = 0; i < 3; i++)
        {
            Assert.True(IsPending(limiter.AttemptAcquire()));
        }

        Assert.Equal(0, redis.ScriptCalls);
    }

    [Fact]
    public async Task SharedPartition_IsIdleSinceItsLastUse_OnTheGatewaysClock()
    {
        var time = new ManualTime();
        await using var redis = new FakeRedis(time);
        await using var gateway = await StartAsync(Policy(limit: 1600), time, redis);
        using var limiter = Limiter(gateway);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(TimeSpan.FromSeconds(30), limiter.IdleDuration);

        await limiter.AcquireAsync();
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(3), limiter.IdleDuration);
        limiter.AttemptAcquire();
        Assert.Equal(TimeSpan.Zero, limiter.IdleDuration);
    }

    // ---- Helpers ----

    private static JsonObject Policy(string algorithm = "FixedWindow", int limit = 100, string window = "00:01:00", string failureMode = "Local") => new()
    {
        ["Algorithm"] = algorithm,
        ["PermitLimit"] = limit,
        ["Window"] = window,
        ["PartitionBy"] = "Header:X-Api-Key",
        ["FailureMode"] = failureMode,
    };

    /// <summary>One route limited by policy "api"; with Redis when a fake is given.</summary>
    private static JsonObject Config(JsonObject policy, FakeRedis? redis = null)
    {
        var config = TestGateway.Config()
            .Set("ReverseProxy:Routes:all:RateLimiterPolicy", "api")
            .Set("Gateway:RateLimiting:Policies:api", policy);
        return redis is null ? config : config
            .Set("Gateway:Redis:Configuration", redis.ConnectionString)
            .Set("Gateway:Redis:OperationTimeout", "00:00:10"); // the validator's maximum: a loaded box must not open the circuit
    }

    private static async Task<TestGateway> StartAsync(JsonObject policy, ManualTime time, FakeRedis redis)
    {
        var gateway = TestGateway.Start(Config(policy, redis), time);

        // The store trips its circuit if asked before the connection is up; the running gateway warms it up at start.
        var connection = await gateway.Get<SharedRedis>().GetConnectionAsync();
        Assert.True(connection is { IsConnected: true }, "could not connect to the fake: " + string.Join(", ", redis.UnknownCommands));
        return gateway;
    }

    private static PartitionLimiter Limiter(TestGateway gateway, string apiKey = "key-1") =>
        ActivatorUtilities.CreateInstance<PartitionLimiter>(gateway.Services, "api", new PartitionKey(PartitionKind.Header, apiKey));

    private static string Key(FakeRedis redis) => Assert.Single(redis.Keys());

    /// <summary>Permits the synchronous path admits before it needs Redis again.</summary>
    private static int TakeLocally(PartitionLimiter limiter)
    {
        var taken = 0;
        while (limiter.AttemptAcquire().IsAcquired)
        {
            taken++;
        }

        return taken;
    }

    /// <summary>Not decided yet: not acquired and no Retry-After, so ASP.NET Core's middleware goes on to AcquireAsync.</summary>
    private static bool IsPending(RateLimitLease lease) => !lease.IsAcquired && RetryAfter(lease) is null;

    private static TimeSpan? RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : null;

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
