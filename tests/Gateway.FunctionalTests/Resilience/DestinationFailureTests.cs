using System.Globalization;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Resilience;

/// <summary>Load tests run alone: their pass mark is a failure *rate*, which other tests' CPU use would skew.</summary>
[CollectionDefinition(nameof(LoadTestCollection), DisableParallelization = true)]
public sealed class LoadTestCollection;

/// <summary>A pod dies under steady load and comes back: health checks route around it, retries hide it.</summary>
[Collection(nameof(LoadTestCollection))]
public sealed class DestinationFailureTests(ITestOutputHelper output)
{
    private const int Rate = 200;
    private const int Workers = 8;
    private static readonly TimeSpan Reactivation = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Without retries nothing can save a request whose connection the dying pod reset: each connection open to it at
    /// the kill fails at most one request (in flight then, or the next to pick it from the pool), and the first refused
    /// connect takes it out of rotation (a few more may have been connecting at that moment). After that, none.
    /// With retries on, none at all (below, and ZeroLossTests).
    /// </summary>
    [Fact]
    public async Task KillingOneOfThree_UnderLoad_WithoutRetries_FailsOnlyWhatItsConnectionsCarried_ThenNone_AndItGetsTrafficAgainAfterRestart()
    {
        var run = await RunKillScenarioAsync(retries: false);

        var limit = run.ConnectionsAtKill + (Workers / 2);
        Assert.True(run.KillWindowFailed <= limit,
            $"{run.KillWindowFailed} of {run.KillWindowTotal} requests failed in the 2 s after the kill (limit: {run.ConnectionsAtKill} connections open to it + {Workers / 2})\n{run.Describe()}");
        Assert.True(run.FailedAfterDown == 0, $"{run.FailedAfterDown} requests failed after the destination was marked down\n{run.Describe()}");
        Assert.True(run.BackAfter <= Reactivation.TotalSeconds, $"the restarted destination got traffic after {run.BackAfter:F2} s (reactivation period {Reactivation.TotalSeconds} s)\n{run.Describe()}");
    }

    [Fact]
    public async Task KillingOneOfThree_UnderLoad_WithRetries_FailsNoGet()
    {
        var run = await RunKillScenarioAsync(retries: true);

        Assert.True(run.Failed == 0, $"{run.Failed} of {run.Total} GETs failed with retries on\n{run.Describe()}");
        Assert.True(run.BackAfter <= Reactivation.TotalSeconds, $"the restarted destination got traffic after {run.BackAfter:F2} s\n{run.Describe()}");
    }

    private async Task<KillRun> RunKillScenarioAsync(bool retries)
    {
        await using var a = await UpstreamServer.StartAsync("a");
        await using var bServer = await UpstreamServer.StartAsync("b");
        await using var c = await UpstreamServer.StartAsync("c");
        // b is reached through a relay that dies like a killed pod; it comes back as a fresh upstream on the same port.
        var b = new KillablePod(bServer.Port);
        UpstreamServer? restarted = null;
        try
        {
            // YARP's default load balancing (PowerOfTwoChoices), as in production: it steers new requests away from a
            // destination whose requests are still pending, which is what a dying pod's are.
            var config = ResilienceConfig.Cluster(("a", a.Url), ("b", b.Url), ("c", c.Url))
                .RemovePath("ReverseProxy:Clusters:backend:LoadBalancingPolicy")
                .WithHealthChecks(Reactivation.ToString("c", CultureInfo.InvariantCulture))
                .WithRetry(retries);
            await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
            using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(10));

            await using var load = new SteadyLoad(client, "/work", Rate, Workers, TimeSpan.FromSeconds(40));
            await Wait.UntilAsync(() => load.Now >= 2.0, TimeSpan.FromSeconds(10), "2 s of warm-up load");

            var killedAt = load.Now;
            b.Kill();

            // Marked down: our passive ConsecutiveFailures ejection or YARP's active check, whichever the log shows first.
            await Wait.UntilAsync(
                () => gateway.CountLog("destination 'b' ejected") > 0 || gateway.CountLog("destination `b` on cluster `backend` is set to 'Unhealthy'") > 0,
                TimeSpan.FromSeconds(15), $"destination b to be marked down\n{gateway.Output}");
            var downAt = load.Now;

            await Wait.UntilAsync(() => load.Now >= killedAt + 3.5, TimeSpan.FromSeconds(15), "load to run on without b");
            restarted = await UpstreamServer.StartAsync("b", b.Port);
            var restartedAt = load.Now;
            await Wait.UntilAsync(() => restarted.Requests.Any(r => r.PathAndQuery == "/work"), TimeSpan.FromSeconds(20), "the restarted b to receive proxied traffic");
            var backAt = load.Now;
            await Wait.UntilAsync(() => load.Now >= backAt + 1.0, TimeSpan.FromSeconds(10), "load to run on with b back");
            await load.StopAsync();

            // What the gateway said about b, for the failure message (first 200 characters of each line).
            var log = string.Join("\n", gateway.OutputLines
                .Where(l => l.Contains("'b'", StringComparison.Ordinal) || l.Contains("`b`", StringComparison.Ordinal))
                .Select(l => l[..Math.Min(l.Length, 200)]));
            var run = new KillRun(load.Samples, killedAt, downAt, restartedAt, backAt, b.ConnectionsAtKill, log);
            output.WriteLine(run.Describe());

            return run;
        }
        finally
        {
            await b.DisposeAsync();
            if (restarted is not null)
            {
                await restarted.DisposeAsync();
            }
        }
    }

    private sealed record KillRun(IReadOnlyCollection<LoadSample> Samples, double KilledAt, double DownAt, double RestartedAt, double BackAt, int ConnectionsAtKill, string GatewayLog)
    {
        public int Total => Samples.Count;

        public int Failed => Samples.Count(s => s.Failed);

        // Requests in flight at the kill count too: they are the ones a dead pod fails first.
        public int KillWindowTotal => Samples.Count(InKillWindow);

        public int KillWindowFailed => Samples.Count(s => s.Failed && InKillWindow(s));

        public int FailedAfterDown => Samples.Count(s => s.Failed && s.StartedAt >= DownAt);

        public double BackAfter => BackAt - RestartedAt;

        private bool InKillWindow(LoadSample s) => s.EndedAt >= KilledAt && s.StartedAt < KilledAt + 2;

        public string Describe()
        {
            var duration = Samples.Count == 0 ? 0 : Samples.Max(s => s.StartedAt);
            var failures = string.Join("\n", Samples.Where(s => s.Failed).OrderBy(s => s.StartedAt).Take(20)
                .Select(s => $"  t={s.StartedAt:F3}..{s.EndedAt:F3} status={s.Status} {s.Error}"));
            return $"requests={Total} (~{Total / Math.Max(duration, 0.001):F0}/s) failed={Failed}; killed at {KilledAt:F2} s with {ConnectionsAtKill} connections open to it, " +
                   $"marked down at {DownAt:F2} s (+{DownAt - KilledAt:F2}), kill window {KillWindowFailed}/{KillWindowTotal} failed, " +
                   $"after down {FailedAfterDown} failed; restarted at {RestartedAt:F2} s, traffic again after {BackAfter:F2} s\n{failures}\n{GatewayLog}";
        }
    }
}
