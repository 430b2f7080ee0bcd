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

    [Fact]
    public async Task AChangeListenerThatThrows_DoesNotLeaveYarpBehindTheConfiguration()
    {
        await using var gateway = TestGateway.Start(TestGateway.Config("first"));
        using var reloads = Reloads(gateway);
        using var listener = gateway.Get<IOptionsMonitor<ConfigurationOptions>>().OnChange(_ => throw new InvalidOperationException("a listener's bug"));
        var yarp = gateway.Get<IProxyConfigProvider>();

        gateway.WriteConfig(TestGateway.Config("second"));
        gateway.Store.CheckForChange();

        // Applied everywhere: the configuration, YARP and the generation moved together.
        Assert.Equal("backend", gateway.Get<IConfiguration>()["ReverseProxy:Routes:second:ClusterId"]);
        Assert.Equal(["second"], yarp.GetConfig().Routes.Select(r => r.RouteId));
        Assert.Equal(2, gateway.Store.Generation);
        Assert.Equal(1, reloads["success"]);

        gateway.WriteConfig(TestGateway.Config("third"));
        gateway.Store.CheckForChange();
        Assert.Equal(["third"], yarp.GetConfig().Routes.Select(r => r.RouteId));
        Assert.Equal(3, gateway.Store.Generation);
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
        var time = new ManualTime();
        await using var gateway = TestGateway.Start(TestGateway.Config("good").Set("Gateway:Configuration:PollInterval", "00:00:05"), time);
        using var reloads = Reloads(gateway);
        var yarp = gateway.Get<IProxyConfigProvider>();
        var serving = yarp.GetConfig();

        gateway.WriteConfig(content);
        gateway.Store.CheckForChange();
        time.Advance(GatewayConfigStore.UnsettledWindow); // unparsable content must stay so for the window (below)
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

    /// <summary>
    /// A file written in place (truncate, then write) read between the two steps is empty or cut short. That read is
    /// never reported; the content must stay unparsable for the window to count as a rejected reload.
    /// </summary>
    [Theory]
    [InlineData("")]
    [InlineData("{\"ReverseProxy\":{\"Rou")]
    public async Task AFileReadMidWrite_IsNotRejected_WhenTheRestArrivesWithinTheWindow(string partial)
    {
        var time = new ManualTime();
        await using var gateway = TestGateway.Start(TestGateway.Config("good"), time);
        using var reloads = Reloads(gateway);

        File.WriteAllText(gateway.ConfigPath, partial);
        gateway.Store.CheckForChange();
        time.Advance(GatewayConfigStore.UnsettledWindow / 2);
        gateway.Store.CheckForChange();
        Assert.Equal(0, reloads.Total);

        File.WriteAllText(gateway.ConfigPath, TestGateway.Config("whole").ToJsonString());
        gateway.Store.CheckForChange();

        Assert.Equal(1, reloads["success"]);
        Assert.Equal(0, reloads["rejected"]);
        Assert.Equal(["whole"], gateway.Get<IProxyConfigProvider>().GetConfig().Routes.Select(r => r.RouteId));

        // Cut short and left so: rejected once the window has passed, by the re-read the store schedules itself.
        File.WriteAllText(gateway.ConfigPath, partial);
        gateway.Store.CheckForChange();
        time.Advance(GatewayConfigStore.UnsettledWindow);
        await Wait.UntilAsync(() => reloads["rejected"] == 1, TimeSpan.FromSeconds(10), "the scheduled re-read to reject it");
        Assert.Equal(2, gateway.Store.Generation);
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
        var time = new ManualTime();
        await using var gateway = TestGateway.Start(TestGateway.Config("good"), time);
        using var reloads = Reloads(gateway);
        var yarp = gateway.Get<IProxyConfigProvider>();
        var serving = yarp.GetConfig();

        File.Delete(gateway.ConfigPath);
        if (how == "a directory in its place")
        {
            Directory.CreateDirectory(gateway.ConfigPath);
        }

        gateway.Store.CheckForChange();
        Assert.Equal(0, reloads.Total); // could be a `rm; cp` in progress
        time.Advance(GatewayConfigStore.UnsettledWindow);
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
    /// file-event timer do race like this), in rounds that each end on a good file. Whatever the interleaving: only
    /// good configs are ever served, and once a round's reloads are done the configuration and YARP both hold that
    /// round's final file (a reload validated earlier but applied last would leave an older one serving).
    /// </summary>
    [Fact]
    public async Task ReloadsRacingRejectedOnes_OnlyEverServeAGoodConfig_AndSettleOnTheFinalFile()
    {
        const int Rounds = 30;
        const int FlipsPerRound = 4;
        await using var gateway = TestGateway.Start(Good(0));
        using var reloads = Reloads(gateway);
        var yarp = gateway.Get<IProxyConfigProvider>();
        var configuration = gateway.Get<IConfiguration>();
        var problems = new ConcurrentQueue<string>();
        long lastGeneration = 0;

        void Observe()
        {
            var generation = gateway.Store.Generation;
            var previous = Interlocked.Exchange(ref lastGeneration, generation);
            if (generation < previous)
            {
                problems.Enqueue($"generation went back from {previous} to {generation}");
            }

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

        var file = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var done = 0;
            var start = new Barrier(3);
            var flipper = Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < FlipsPerRound; i++)
                {
                    gateway.WriteConfig(Good(++file));
                    gateway.WriteConfig(Bad(file));
                }

                gateway.WriteConfig(Good(++file));
                Volatile.Write(ref done, 1);
            }, TaskCreationOptions.LongRunning);
            var checkers = Enumerable.Range(0, 2).Select(_ => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                while (Volatile.Read(ref done) == 0)
                {
                    gateway.Store.CheckForChange();
                    Observe();
                }

                gateway.Store.CheckForChange();
                Observe();
            }, TaskCreationOptions.LongRunning)).ToArray();
            await Task.WhenAll([flipper, .. checkers]);

            Assert.True(problems.IsEmpty, $"round {round}:\n" + string.Join("\n", problems.Take(20)));
            Assert.Equal([$"good{file}"], yarp.GetConfig().Routes.Select(r => r.RouteId));
            Assert.Equal([$"good{file}"], configuration.GetSection("ReverseProxy:Routes").GetChildren().Select(r => r.Key));
            Assert.Equal($"backend{file}", configuration[$"ReverseProxy:Routes:good{file}:ClusterId"]);
        }

        output.WriteLine($"{reloads["success"]} applied, {reloads["rejected"]} rejected over {Rounds * (2 * FlipsPerRound + 1)} writes");
        Assert.Equal(1 + reloads["success"], gateway.Store.Generation);
        Assert.True(reloads["rejected"] > 0, "some bad contents must have been read");
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
