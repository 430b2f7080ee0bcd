using Gateway.Discovery;
using Gateway.TestSupport;
using k8s;
using static Gateway.TestSupport.EndpointSliceJson;

namespace Gateway.Tests.Discovery;

/// <summary>
/// <see cref="KubernetesEndpointWatcher"/> with the official client against <see cref="FakeKubernetesApi"/> over TLS (the source is
/// compiled into this project; see the csproj): list, watch events, draining pods, bookmarks, 410, outages, RBAC, ports, resync.
/// </summary>
public sealed class KubernetesEndpointWatcherTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly string _directory = Directory.CreateTempSubdirectory("gateway-k8s-watch-").FullName;
    private readonly UpdateRecorder _recorder = new();
    private FakeKubernetesApi _api = null!;
    private RecordingLogger _logger = null!;
    private KubernetesEndpointWatcher? _watcher;
    private IKubernetes? _client;

    private static KubernetesWatcherOptions FastRetries => new()
    {
        InitialRetryDelay = TimeSpan.FromMilliseconds(100),
        MaxRetryDelay = TimeSpan.FromMilliseconds(800),
        WatchTimeout = TimeSpan.FromMinutes(2),
    };

    public async Task InitializeAsync()
    {
        _logger = new RecordingLogger(output);
        _api = await FakeKubernetesApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_watcher is not null)
        {
            await _watcher.DisposeAsync();
            output.WriteLine($"status: {_watcher.Status}");
            output.WriteLine($"counters: {_watcher.Counters}");
        }

        _client?.Dispose();

        foreach (var request in _api.Requests)
        {
            output.WriteLine(request.ToString());
        }

        await _api.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task InitialList_MergesTheServicesSlices_OneEndpointPerAddressAndPort_IdsArePodNames()
    {
        _api.Upsert(Slice("orders-7x2kq", "orders", [Ready("10.1.0.5", "orders-a"), Ready("10.1.0.6", "orders-b")], [Port("metrics", 9090), Port("http", 8080)]));
        _api.Upsert(Slice("orders-9mzt4", "orders", [Terminating("10.1.0.7", "orders-c"), NotReady("10.1.0.8", "orders-d")], [Port("http", 8080)]));
        _api.Upsert(Slice("payments-abcde", "payments", [Ready("10.1.1.5", "payments-a")], [Port("http", 8080)]));
        _api.Upsert(Slice("orders-qa111", "orders", [Endpoint("10.2.0.5", "orders-qa", ns: "qa")], [Port("http", 8080)], ns: "qa"));

        var watcher = Start(new KubernetesDiscoveryTarget("shop", "orders", "http"));
        var update = await _recorder.WaitForAsync(e => e.Count > 0, "the initial set");

        Assert.Equal("initial list", update.Reason);
        Assert.Equal(
            [
                new DiscoveredEndpoint("orders-a", "http://10.1.0.5:8080", EndpointCondition.Ready, "kubernetes"),
                new DiscoveredEndpoint("orders-b", "http://10.1.0.6:8080", EndpointCondition.Ready, "kubernetes"),
                new DiscoveredEndpoint("orders-c", "http://10.1.0.7:8080", EndpointCondition.Draining, "kubernetes"),
                new DiscoveredEndpoint("orders-d", "http://10.1.0.8:8080", EndpointCondition.NotReady, "kubernetes"),
            ],
            update.Endpoints);
        var status = watcher.Status;
        Assert.True(status.HasSynced);
        Assert.Equal((4, 1L, 0L, "shop/orders:http", "kubernetes"), (status.EndpointCount, status.UpdatesApplied, status.UpdatesFailed, status.Target, status.Source));
        Assert.Equal(1, watcher.Counters.Lists);
        Assert.Contains(_api.Requests, r => r.Path == "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"
            && r.Query.Contains("labelSelector=kubernetes.io%2Fservice-name%3Dorders", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WatchEvents_Added_Modified_Deleted_EachPublishTheNewFullSet_WithoutRelisting()
    {
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1")], [Port("http", 8080)]));
        var watcher = Start(new KubernetesDiscoveryTarget("shop", "orders", "http"));
        await _recorder.WaitForAsync(e => e.Count == 1, "the initial set");
        await Wait.UntilAsync(() => _api.OpenWatches == 1, Timeout, "the watch to open");

        _api.Upsert(Slice("orders-b", "orders", [Ready("10.1.0.6", "orders-2"), Ready("10.1.0.7", "orders-3")], [Port("http", 8080)]));
        var added = await _recorder.WaitForAsync(e => e.Count == 3, "the added slice");
        Assert.Equal("watch ADDED orders-b", added.Reason);

        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.9", "orders-4")], [Port("http", 8080)]));
        var modified = await _recorder.WaitForAsync(e => e.Any(x => x.Id == "orders-4"), "the modified slice");
        Assert.Equal("watch MODIFIED orders-a", modified.Reason);
        Assert.Equal(["orders-2", "orders-3", "orders-4"], modified.Endpoints.Select(e => e.Id));

        _api.Delete("orders-b");
        var deleted = await _recorder.WaitForAsync(e => e.Count == 1, "the deleted slice");
        Assert.Equal("watch DELETED orders-b", deleted.Reason);
        Assert.Equal("http://10.1.0.9:8080", Assert.Single(deleted.Endpoints).Address);

        // Another service's slice is filtered out by the server; nothing is published for it.
        _api.Upsert(Slice("payments-a", "payments", [Ready("10.1.1.5", "payments-1")], [Port("http", 8080)]));
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.9", "orders-4"), Ready("10.1.0.10", "orders-5")], [Port("http", 8080)]));
        await _recorder.WaitForAsync(e => e.Count == 2, "the last change");
        Assert.Equal(5, _recorder.Updates.Count);
        Assert.Equal((1, 1), (_api.ListsServed, _api.WatchesOpened));
        Assert.Equal(4, watcher.Counters.WatchEvents);
    }

    [Fact]
    public async Task TerminatingPod_IsDrainingWhileServing_NotReadyWhenItStops_AndGoneWhenRemoved()
    {
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1"), Ready("10.1.0.6", "orders-2")], [Port("http", 8080)]));
        Start(new KubernetesDiscoveryTarget("shop", "orders", "http"));
        await _recorder.WaitForAsync(e => e.Count == 2, "the initial set");

        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1"), Terminating("10.1.0.6", "orders-2")], [Port("http", 8080)]));
        var draining = await _recorder.WaitForAsync(e => e.Any(x => x.Condition == EndpointCondition.Draining), "orders-2 draining");
        Assert.Equal([EndpointCondition.Ready, EndpointCondition.Draining], draining.Endpoints.Select(e => e.Condition));

        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1"), Terminating("10.1.0.6", "orders-2", serving: false)], [Port("http", 8080)]));
        var stopped = await _recorder.WaitForAsync(e => e.Any(x => x is { Id: "orders-2", Condition: EndpointCondition.NotReady }), "orders-2 no longer serving");
        Assert.Equal(2, stopped.Endpoints.Count);

        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1")], [Port("http", 8080)]));
        var gone = await _recorder.WaitForAsync(e => e.Count == 1, "orders-2 gone");
        Assert.Equal("orders-1", gone.Endpoints[0].Id);
    }

    [Fact]
    public async Task AfterABookmark_ADroppedWatch_ResumesFromTheBookmarksVersion_WithoutARelist()
    {
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1")], [Port("http", 8080)]));
        var watcher = Start(new KubernetesDiscoveryTarget("shop", "orders", "http"));
        await _recorder.WaitForAsync(e => e.Count == 1, "the initial set");
        await Wait.UntilAsync(() => _api.OpenWatches == 1, Timeout, "the watch to open");

        // Writes elsewhere move the version on; only the bookmark tells the watcher. Then everything before it is compacted away.
        var bookmarked = _api.AdvanceResourceVersion(10);
        _api.SendBookmark();
        await Wait.UntilAsync(() => watcher.Counters.ResourceVersion == bookmarked.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Timeout, "the watcher to take the bookmark's version");
        _api.ExpireHistory();
        _api.DropWatches();

        await Wait.UntilAsync(() => _api.WatchesOpened == 2 && _api.OpenWatches == 1, Timeout, "the watch to resume");
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1"), Ready("10.1.0.6", "orders-2")], [Port("http", 8080)]));
        await _recorder.WaitForAsync(e => e.Count == 2, "the change after the resumed watch");

        Assert.Equal(1, _api.ListsServed);
        Assert.Equal(0, _api.WatchesExpired);
        Assert.Contains(_api.Requests, r => r.Query.Contains($"resourceVersion={bookmarked}&", StringComparison.Ordinal) && r.Query.Contains("watch=true", StringComparison.Ordinal));
        Assert.Equal((1L, 0L), (watcher.Counters.Bookmarks, watcher.Counters.Relists));
        Assert.Equal(1, watcher.Status.UpdatesFailed); // the dropped watch, counted, then recovered
        Assert.Equal(0, watcher.Status.ConsecutiveFailures);
    }

    [Fact]
    public async Task WhenTheWatchVersionIsGone_410_TheWatcherRelists_AndPicksUpWhatChangedMeanwhile()
    {
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1")], [Port("http", 8080)]));
        var watcher = Start(new KubernetesDiscoveryTarget("shop", "orders", "http"));
        await _recorder.WaitForAsync(e => e.Count == 1, "the initial set");
        await Wait.UntilAsync(() => _api.OpenWatches == 1, Timeout, "the watch to open");

        // While the API server is away, a pod is added and the history the watcher would resume from is compacted.
        await _api.StopAsync();
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1"), Ready("10.1.0.6", "orders-2")], [Port("http", 8080)]));
        _api.ExpireHistory();
        await _api.StartAsync();

        var relisted = await _recorder.WaitForAsync(e => e.Count == 2, "the relisted set");
        Assert.Equal("relist after 410 Gone", relisted.Reason);
        Assert.Equal(1, _api.WatchesExpired);
        Assert.Equal(2, _api.ListsServed);
        Assert.Equal(1, watcher.Counters.Relists);
        Assert.Equal(1, _logger.Count(9204));

        // And it watches on from the new list.
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.6", "orders-2")], [Port("http", 8080)]));
        await _recorder.WaitForAsync(e => e.Count == 1 && e[0].Id == "orders-2", "a change after the relist");
    }

    [Fact]
    public async Task ApiDown_KeepsTheLastSet_CountsErrorsWithBackoff_AndRecoversByItself()
    {
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1"), Ready("10.1.0.6", "orders-2")], [Port("http", 8080)]));
        var watcher = Start(new KubernetesDiscoveryTarget("shop", "orders", "http"));
        var initial = await _recorder.WaitForAsync(e => e.Count == 2, "the initial set");
        await Wait.UntilAsync(() => _api.OpenWatches == 1, Timeout, "the watch to open");

        await _api.StopAsync();
        await Wait.UntilAsync(() => watcher.Status.ConsecutiveFailures >= 4, Timeout, "four failed attempts");
        var down = watcher.Status;
        Assert.Same(initial.Endpoints, watcher.Current);
        Assert.Single(_recorder.Updates);
        Assert.True(down.UpdatesFailed >= 4);
        Assert.StartsWith("watch: ", down.LastError, StringComparison.Ordinal);
        Assert.True(down.HasSynced);
        Assert.Equal(2, down.EndpointCount);
        // Back-off: 100, 200, 400, 800 ms... so four failures take at least ~0.5 s, not a hot loop.
        Assert.True(down.LastErrorAt - down.LastSuccessAt >= TimeSpan.FromMilliseconds(400), $"{down.LastSuccessAt:O} .. {down.LastErrorAt:O}");

        await _api.StartAsync();
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1"), Ready("10.1.0.6", "orders-2"), Ready("10.1.0.7", "orders-3")], [Port("http", 8080)]));
        await _recorder.WaitForAsync(e => e.Count == 3, "the change after the outage");
        Assert.Equal(0, watcher.Status.ConsecutiveFailures);
        Assert.Equal(1, _api.ListsServed); // the history was still there: watched on from the last version, no relist
        Assert.Equal(1, _logger.Count(9203));
    }

    [Fact]
    public async Task RbacDenied_PublishesNothing_ReportsTheApiServersMessage_AndRecoversWhenGranted()
    {
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1")], [Port("http", 8080)]));
        _api.FailWith(403);
        var watcher = Start(new KubernetesDiscoveryTarget("shop", "orders", "http"));

        await Wait.UntilAsync(() => watcher.Status.ConsecutiveFailures >= 2, Timeout, "two denied lists");
        var denied = watcher.Status;
        Assert.False(denied.HasSynced);
        Assert.Null(watcher.Current);
        Assert.Empty(_recorder.Updates);
        Assert.Contains("403 Forbidden", denied.LastError, StringComparison.Ordinal);
        Assert.Contains("cannot list resource \"endpointslices\"", denied.LastError, StringComparison.Ordinal);

        _api.FailWith(null);
        var update = await _recorder.WaitForAsync(e => e.Count == 1, "the first set once granted");
        Assert.Equal("initial list", update.Reason);
        Assert.Equal(0, watcher.Status.ConsecutiveFailures);
    }

    [Fact]
    public async Task APortTheServiceLacks_IsAnErrorLoggedOncePerChange_AndTheLastSetIsKept()
    {
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1")], [Port("http", 8080)]));
        var watcher = Start(new KubernetesDiscoveryTarget("shop", "orders", "http"));
        var good = await _recorder.WaitForAsync(e => e.Count == 1, "the initial set");

        // The port is renamed: no endpoint matches any more. An empty set would take every destination away: refused instead.
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1")], [Port("web", 8080)]));
        await Wait.UntilAsync(() => watcher.Status.UpdatesFailed == 1, Timeout, "the refused set");
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-9")], [Port("web", 8080)])); // same error again
        await Wait.UntilAsync(() => watcher.Status.UpdatesFailed == 2, Timeout, "the second refused set");

        var status = watcher.Status;
        Assert.Same(good.Endpoints, watcher.Current);
        Assert.Single(_recorder.Updates);
        Assert.Equal(0, status.ConsecutiveFailures); // not an API failure: no back-off
        Assert.Contains("service shop/orders has no port named 'http' (its EndpointSlices have: web=8080)", status.LastError, StringComparison.Ordinal);
        Assert.Equal(1, _logger.Count(9205));

        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-9")], [Port("web", 8080), Port("http", 8081)]));
        var fixedSet = await _recorder.WaitForAsync(e => e.Count == 1 && e[0].Id == "orders-9", "the set once the port is back");
        Assert.Equal("http://10.1.0.5:8081", fixedSet.Endpoints[0].Address);
    }

    [Fact]
    public async Task APortGivenAsANumber_MatchesThePortNumber()
    {
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1")], [Port("metrics", 9090), Port(null, 8080)]));
        Start(new KubernetesDiscoveryTarget("shop", "orders", "8080", Scheme: "https"));

        var update = await _recorder.WaitForAsync(e => e.Count == 1, "the set");

        Assert.Equal("https://10.1.0.5:8080", update.Endpoints[0].Address);
    }

    [Fact]
    public async Task PeriodicResync_Relists_ButPublishesNothingWhenNothingChanged()
    {
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1")], [Port("http", 8080)]));
        var watcher = Start(new KubernetesDiscoveryTarget("shop", "orders", "http"), FastRetries with { ResyncInterval = TimeSpan.FromMilliseconds(500) });

        await Wait.UntilAsync(() => _api.ListsServed >= 3, Timeout, "two resyncs");

        Assert.Single(_recorder.Updates);
        Assert.True(watcher.Counters.Resyncs >= 2);
        Assert.Equal(0, watcher.Status.UpdatesFailed);
    }

    [Fact]
    public async Task AWatchTheServerEnds_AtTimeoutSeconds_IsResumedFromTheSameVersion_AndIsNoFailure()
    {
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1")], [Port("http", 8080)]));
        var watcher = Start(new KubernetesDiscoveryTarget("shop", "orders", "http"), FastRetries with { WatchTimeout = TimeSpan.FromSeconds(1) });

        await Wait.UntilAsync(() => _api.WatchesOpened >= 3, Timeout, "three watches, each ended by the server");
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.6", "orders-2")], [Port("http", 8080)]));
        await _recorder.WaitForAsync(e => e.Count == 1 && e[0].Id == "orders-2", "a change on a later watch");

        Assert.Equal(1, _api.ListsServed);
        Assert.Equal(0, watcher.Status.UpdatesFailed);
        Assert.Contains(_api.Requests, r => r.Query.Contains("timeoutSeconds=1&", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stop_EndsTheWatch()
    {
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.5", "orders-1")], [Port("http", 8080)]));
        var watcher = Start(new KubernetesDiscoveryTarget("shop", "orders", "http"));
        await _recorder.WaitForAsync(e => e.Count == 1, "the initial set");
        await Wait.UntilAsync(() => _api.OpenWatches == 1, Timeout, "the watch to open");

        var stop = watcher.StopAsync();
        Assert.Same(stop, await Task.WhenAny(stop, Task.Delay(Timeout)));
        await Wait.UntilAsync(() => _api.OpenWatches == 0, Timeout, "the fixture to see the watch closed");
        _api.Upsert(Slice("orders-a", "orders", [Ready("10.1.0.6", "orders-2")], [Port("http", 8080)]));
        await Task.Delay(200);
        Assert.Single(_recorder.Updates);
    }

    [Fact]
    public void LoadConfiguration_FromAnExplicitKubeconfig_TakesItsServerTokenAndTlsSettings()
    {
        var path = _api.WriteKubeConfig(_directory);

        var configuration = KubernetesEndpointWatcher.LoadConfiguration(path, out var origin);

        Assert.Equal($"kubeconfig {path}", origin);
        Assert.Equal(_api.Url, configuration.Host.TrimEnd('/'));
        Assert.Equal(FakeKubernetesApi.Token, configuration.AccessToken);
        Assert.True(configuration.SkipTlsVerify);
    }

    private KubernetesEndpointWatcher Start(KubernetesDiscoveryTarget target, KubernetesWatcherOptions? options = null)
    {
        _client = KubernetesEndpointWatcher.CreateClient(_api.WriteKubeConfig(_directory), _logger);
        _watcher = new KubernetesEndpointWatcher(target, _client, _recorder.Callback, TimeProvider.System, _logger, options ?? FastRetries);
        _watcher.Start();
        return _watcher;
    }
}
