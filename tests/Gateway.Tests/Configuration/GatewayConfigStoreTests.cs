using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Gateway.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Tests.Configuration;

/// <summary>
/// Validate-then-swap: a reload either changes the configuration and YARP's routes together, or changes nothing and
/// the last good config keeps serving. The store is the one the real composition builds; reloads are driven by
/// calling CheckForChange, as the file watcher does.
/// </summary>
public sealed class GatewayConfigStoreTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ValidReload_IsApplied_GenerationIncrements_AndYarpAndOptionsSeeTheNewConfig()
    {
        await using var gateway = TestGateway.Start(TestGateway.Config("first"));
        using var reloads = Reloads(gateway);
        var yarp = gateway.Get<IProxyConfigProvider>();
        var before = yarp.GetConfig();
        Assert.Equal(1, gateway.Store.Generation);
        Assert.Equal(["first"], before.Routes.Select(r => r.RouteId));

        gateway.WriteConfig(TestGateway.Config("second", "other").Set("Gateway:Configuration:PollInterval", "00:00:07"));
        gateway.Store.CheckForChange();

        Assert.Equal(2, gateway.Store.Generation);
        var after = yarp.GetConfig();
        Assert.Equal(["second"], after.Routes.Select(r => r.RouteId));
        Assert.Equal(["other"], after.Clusters.Select(c => c.ClusterId));
        Assert.True(before.ChangeToken.HasChanged, "YARP reloads when the config it holds signals a change");
        Assert.False(after.ChangeToken.HasChanged);

        // The file-backed configuration changed with it: options bound from it see the new values.
        var configuration = gateway.Get<IConfiguration>();
        Assert.Equal("other", configuration["ReverseProxy:Routes:second:ClusterId"]);
        Assert.Null(configuration["ReverseProxy:Routes:first:ClusterId"]);
        Assert.Equal(TimeSpan.FromSeconds(7), gateway.Get<IOptionsMonitor<ConfigurationOptions>>().CurrentValue.PollInterval);
        Assert.Equal(1, reloads["success"]);
        Assert.Equal(0, reloads["rejected"]);
    }

    public static TheoryData<string, string> BadContents => new()
    {
        { "an unknown load-balancing policy", BadLoadBalancing("bad").ToJsonString() },
        { "an option out of range", TestGateway.Config("bad").Set("Gateway:Configuration:PollInterval", "00:00:00.001").ToJsonString() },
        { "a duplicate route id", """{"ReverseProxy":{"Routes":{"bad":{"ClusterId":"backend"},"bad":{"ClusterId":"backend"}}}}""" },
        { "truncated JSON", TestGateway.Config("bad").ToJsonString()[..40] },
    };

    [Theory]
    [MemberData(nameof(BadContents))]
    public async Task RejectedReload_LastGoodConfigKeepsServing_AndTheGenerationStays(string description, string content)
    {
        await using var gateway = TestGateway.Start(TestGateway.Config("good").Set("Gateway:Configuration:PollInterval", "00:00:05"));
        using var reloads = Reloads(gateway);
        var yarp = gateway.Get<IProxyConfigProvider>();
        var serving = yarp.GetConfig();

        gateway.WriteConfig(content);
        gateway.Store.CheckForChange();

        Assert.True(gateway.Store.Generation == 1, description);
        Assert.Same(serving, yarp.GetConfig());
        Assert.False(serving.ChangeToken.HasChanged, "YARP must not be told to reload");
        var configuration = gateway.Get<IConfiguration>();
        Assert.Equal("backend", configuration["ReverseProxy:Routes:good:ClusterId"]);
        Assert.Null(configuration["ReverseProxy:Routes:bad:ClusterId"]);
        Assert.Equal(TimeSpan.FromSeconds(5), gateway.Get<IOptionsMonitor<ConfigurationOptions>>().CurrentValue.PollInterval);
        Assert.Equal(1, reloads["rejected"]);

        // The same bad content is not re-validated (nor re-reported) on every poll...
        gateway.Store.CheckForChange();
        Assert.Equal(1, reloads["rejected"]);

        // ...and the next good content applies as usual.
        gateway.WriteConfig(TestGateway.Config("fixed"));
        gateway.Store.CheckForChange();
        Assert.Equal(2, gateway.Store.Generation);
        Assert.Equal(["fixed"], yarp.GetConfig().Routes.Select(r => r.RouteId));
        Assert.Equal(1, reloads["success"]);
    }

    [Fact]
    public async Task SameContentTwice_IsANoOp_EvenWhenTheFileIsRewritten()
    {
        await using var gateway = TestGateway.Start(TestGateway.Config("first"));
        using var reloads = Reloads(gateway);
        var yarp = gateway.Get<IProxyConfigProvider>();

        // The file as it was loaded at start.
        gateway.Store.CheckForChange();
        Assert.Equal(1, gateway.Store.Generation);

        var second = TestGateway.Config("second");
        gateway.WriteConfig(second);
        gateway.Store.CheckForChange();
        var applied = yarp.GetConfig();
        Assert.Equal(2, gateway.Store.Generation);

        gateway.Store.CheckForChange();
        gateway.WriteConfig(second); // a new file (new inode, new mtime), same bytes
        gateway.Store.CheckForChange();

        Assert.Equal(2, gateway.Store.Generation);
        Assert.Same(applied, yarp.GetConfig());
        Assert.False(applied.ChangeToken.HasChanged);
        Assert.Equal(1, reloads.Total);
    }

    [Theory]
    [InlineData("deleted")]
    [InlineData("a directory in its place")]
    public async Task UnreadableFile_IsRejected_AndTheLastGoodConfigKeepsServing(string how)
    {
        await using var gateway = TestGateway.Start(TestGateway.Config("good"));
        using var reloads = Reloads(gateway);
        var yarp = gateway.Get<IProxyConfigProvider>();
        var serving = yarp.GetConfig();

        File.Delete(gateway.ConfigPath);
        if (how == "a directory in its place")
        {
            Directory.CreateDirectory(gateway.ConfigPath);
        }

        gateway.Store.CheckForChange();

        Assert.Equal(1, gateway.Store.Generation);
        Assert.Same(serving, yarp.GetConfig());
        Assert.Equal("backend", gateway.Get<IConfiguration>()["ReverseProxy:Routes:good:ClusterId"]);
        Assert.Equal(1, reloads["rejected"]);
        var error = Assert.Single(gateway.Store.ValidateCandidate(GatewayConfigFile.Read(gateway.ConfigPath)));
        Assert.StartsWith(gateway.ConfigPath + ": cannot read the config file", error, StringComparison.Ordinal);

        if (how == "a directory in its place")
        {
            Directory.Delete(gateway.ConfigPath);
        }

        gateway.WriteConfig(TestGateway.Config("back"));
        gateway.Store.CheckForChange();
        Assert.Equal(2, gateway.Store.Generation);
        Assert.Equal(["back"], yarp.GetConfig().Routes.Select(r => r.RouteId));
    }

    /// <summary>
    /// Two threads reload while a third flips the file between good and bad contents (the watcher's poll and its
    /// file-event timer do race like this). Whatever the interleaving: only good configs are ever served, the
    /// configuration and YARP agree once it settles, and the final state is the final file's.
    /// </summary>
    [Fact]
    public async Task ReloadsRacingRejectedOnes_OnlyEverServeAGoodConfig_AndSettleOnTheFinalFile()
    {
        const int Flips = 60;
        await using var gateway = TestGateway.Start(Good(0));
        using var reloads = Reloads(gateway);
        var yarp = gateway.Get<IProxyConfigProvider>();
        var configuration = gateway.Get<IConfiguration>();
        var problems = new ConcurrentQueue<string>();
        var done = 0;

        void Observe(ref long lastGeneration)
        {
            var generation = gateway.Store.Generation;
            if (generation < lastGeneration)
            {
                problems.Enqueue($"generation went back from {lastGeneration} to {generation}");
            }

            lastGeneration = generation;
            var routes = yarp.GetConfig().Routes.Select(r => r.RouteId).ToList();
            if (routes.Count != 1 || !routes[0].StartsWith("good", StringComparison.Ordinal))
            {
                problems.Enqueue("YARP serves routes " + string.Join(",", routes));
            }

            if (configuration.GetSection("ReverseProxy:Routes").GetChildren().Any(r => !r.Key.StartsWith("good", StringComparison.Ordinal)))
            {
                problems.Enqueue("the configuration holds a rejected route");
            }
        }

        var start = new Barrier(3);
        var flipper = Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var i = 1; i <= Flips; i++)
            {
                gateway.WriteConfig(Good(i));
                gateway.WriteConfig(Bad(i));
            }

            gateway.WriteConfig(Good(Flips + 1));
            Volatile.Write(ref done, 1);
        }, TaskCreationOptions.LongRunning);
        var checkers = Enumerable.Range(0, 2).Select(_ => Task.Factory.StartNew(() =>
        {
            long generation = 0;
            start.SignalAndWait();
            while (Volatile.Read(ref done) == 0)
            {
                gateway.Store.CheckForChange();
                Observe(ref generation);
            }

            gateway.Store.CheckForChange();
            Observe(ref generation);
        }, TaskCreationOptions.LongRunning)).ToArray();

        await Task.WhenAll([flipper, .. checkers]);
        output.WriteLine($"{reloads["success"]} applied, {reloads["rejected"]} rejected over {2 * Flips + 1} writes");

        Assert.True(problems.IsEmpty, string.Join("\n", problems.Take(20)));
        Assert.Equal([$"good{Flips + 1}"], yarp.GetConfig().Routes.Select(r => r.RouteId));
        Assert.Equal($"backend{Flips + 1}", configuration[$"ReverseProxy:Routes:good{Flips + 1}:ClusterId"]);
        Assert.Equal([$"good{Flips + 1}"], configuration.GetSection("ReverseProxy:Routes").GetChildren().Select(r => r.Key));
        Assert.Equal(1 + reloads["success"], gateway.Store.Generation);
        Assert.InRange(reloads["success"], 1, Flips + 1);
    }

    private static JsonObject Good(int i) => TestGateway.Config($"good{i}", $"backend{i}");

    // Alternates the ways a candidate fails: a YARP-level check, an option validator, unparsable JSON.
    private static string Bad(int i) => (i % 3) switch
    {
        0 => BadLoadBalancing($"bad{i}").ToJsonString(),
        1 => TestGateway.Config($"bad{i}").Set("Gateway:Configuration:PollInterval", "99:99:99").ToJsonString(),
        _ => TestGateway.Config($"bad{i}").ToJsonString()[..^2],
    };

    private static JsonObject BadLoadBalancing(string routeId) =>
        TestGateway.Config(routeId).Set("ReverseProxy:Clusters:backend:LoadBalancingPolicy", "NoSuchPolicy");

    private static CounterRecorder Reloads(TestGateway gateway) =>
        new(gateway.Get<IMeterFactory>(), "gateway.config.reloads", "result");
}
