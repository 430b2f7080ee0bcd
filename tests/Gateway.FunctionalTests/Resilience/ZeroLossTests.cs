using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Resilience;

/// <summary>
/// A pod is SIGKILLed under steady GET load, with the default retry settings, once per passive policy a cluster can
/// name: not one request fails. The requests in flight on its connections are retried (GETs whose connection broke
/// before any response byte reached the client), the first refused connect takes it out of rotation whatever the
/// policy, the budget's floor pays for the retries, and each probe of the dead pod after its reactivation period is
/// retried too.
/// </summary>
[Collection(nameof(LoadTestCollection))]
public sealed class ZeroLossTests(ITestOutputHelper output)
{
    private const int Rate = 200;
    private const int Workers = 8;

    [Theory]
    [InlineData("none")]
    [InlineData("TransportFailureRate")]
    [InlineData("ConsecutiveFailures")]
    public async Task KillingOneOfThree_UnderLoad_FailsNoRequest_WhicheverThePassivePolicy(string policy)
    {
        await using var a = await UpstreamServer.StartAsync("a");
        await using var bServer = await UpstreamServer.StartAsync("b");
        await using var c = await UpstreamServer.StartAsync("c");
        await using var b = new KillablePod(bServer.Port);
        // A short reactivation period, so the run also sends the dead pod a few probes after its ejection.
        var passive = policy == "none"
            ? """{ "Enabled": false, "ReactivationPeriod": "00:00:01" }"""
            : $$"""{ "Enabled": true, "Policy": "{{policy}}", "ReactivationPeriod": "00:00:01" }""";
        // YARP's default load balancing (PowerOfTwoChoices); the Retry block is left to the built-in defaults.
        var config = ResilienceConfig.Cluster(("a", a.Url), ("b", b.Url), ("c", c.Url))
            .RemovePath("ReverseProxy:Clusters:backend:LoadBalancingPolicy")
            .Set("ReverseProxy:Clusters:backend:HealthCheck", JsonNode.Parse($$"""{ "Passive": {{passive}} }"""));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(10));

        // Bounded: about 6 s of load at 200/s (a hard limit of 30 s on a stalled box), so at most ~1,200 requests.
        await using var load = new SteadyLoad(client, "/work", Rate, Workers, TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => load.Now >= 2.0, TimeSpan.FromSeconds(15), "2 s of warm-up load");
        var killedAt = load.Now;
        b.Kill();
        await Wait.UntilAsync(() => load.Now >= killedAt + 4.0, TimeSpan.FromSeconds(20), "4 s of load after the kill");
        await load.StopAsync();

        var samples = load.Samples;
        var failed = samples.Where(s => s.Failed).OrderBy(s => s.StartedAt).ToList();
        var retried = await RetriesAsync(gateway, "succeeded");
        var exhausted = await RetriesAsync(gateway, "budget_exhausted");
        var ejections = await ResilienceConfig.ScrapeAsync(gateway, "gateway_ejections_total", "cluster=\"backend\"", "destination=\"b\"");
        var afterKill = samples.Count(s => s.EndedAt >= killedAt);
        var report = $"policy {policy}: {samples.Count} requests ({afterKill} ended after the kill at {killedAt:F2} s), {failed.Count} failed; " +
            $"{retried} retries succeeded, {exhausted} refused by the budget; b ejected {ejections} times\n" +
            string.Join("\n", failed.Take(20).Select(s => $"  t={s.StartedAt:F3}..{s.EndedAt:F3} status={s.Status} {s.Error}")) + "\n" +
            string.Join("\n", gateway.OutputLines.Where(l => l.Contains("'b'", StringComparison.Ordinal)).Select(l => l[..Math.Min(l.Length, 200)]));
        output.WriteLine(report);

        Assert.True(failed.Count == 0, report);
        Assert.True(afterKill >= Rate, $"the load should have run on after the kill\n{report}");
        Assert.True(ejections >= 1, $"b should have been taken out of rotation\n{report}");
        Assert.True(retried >= 1, $"the failed attempts on b should have been retried\n{report}");
        Assert.Equal(0, exhausted);
    }

    private static Task<double> RetriesAsync(GatewayProcess gateway, string result) =>
        ResilienceConfig.ScrapeAsync(gateway, "gateway_retries_total", "cluster=\"backend\"", $"result=\"{result}\"");
}
