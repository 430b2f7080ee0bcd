// The cost of an EndpointSlice update of a 500-endpoint Service, step by step and end to end through YARP, and the
// per-request check that destinations delivered by discovery cost what static ones cost.
// Run: tests/Gateway.Benchmarks/run.sh micro --filter '*DiscoveryBenchmarks*'
//
// The update path (Discovery/): KubernetesEndpointWatcher keeps the Service's slices -> EndpointSliceMapper.Map ->
// DiscoveryState.Offer -> DiscoveryManager.OnUpdate -> ClusterDiscovery.Publish -> Changed -> GatewayProxyConfigProvider
// republishes the last validated config with the discovered destinations merged -> YARP's ProxyConfigManager applies it.
// Every "one changed" update flips endpoint 250 (of 500) between ready and not ready, so each invocation is a real change
// of YARP's destination set (500 <-> 499); "one draining" flips it between ready and terminating-but-serving, which changes
// only the drain marks (YARP's set stays 500).
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Gateway.Affinity;
using Gateway.Configuration;
using Gateway.DestinationDraining;
using Gateway.Discovery;
using Gateway.TestSupport;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Model;

namespace Gateway.Benchmarks.Micro;

[MemoryDiagnoser]
public class DiscoveryBenchmarks
{
    private static readonly string ChangedPod = OrdersService.Pod(OrdersService.Changed);
    private const int ChangedSlice = OrdersService.Changed / OrdersService.PerSlice;

    private bool _flip;

    // Decode and map
    private string _watchLine = null!;
    private List<V1EndpointSlice> _slices = null!;

    // Publish and apply
    private IReadOnlyList<DiscoveredEndpoint> _ready = null!;
    private IReadOnlyList<DiscoveredEndpoint> _changed = null!;
    private ClusterDiscovery _discovery = null!;
    private BenchDestinationSource _source = null!;
    private GatewayProxyConfigProvider? _provider;
    private PublishedSet _publishedReady = null!;
    private PublishedSet _publishedChanged = null!;
    private PublishedSet _publishedDraining = null!;
    private GatewayHost? _host;

    // The whole in-process chain from the watcher's slice dictionary
    private Dictionary<string, V1EndpointSlice> _watcherSlices = null!;
    private V1EndpointSlice _sliceReady = null!;
    private V1EndpointSlice _sliceChanged = null!;
    private DiscoveryState _state = null!;

    // The real gateway against the fake API server
    private FakeKubernetesApi? _api;
    private string? _kubeConfigDirectory;
    private JsonObject _sliceJsonReady = null!;
    private JsonObject _sliceJsonChanged = null!;

    // Per request
    private RequestDelegate _pipeline = null!;
    private DefaultHttpContext _staticContext = null!;
    private DefaultHttpContext _discoveredContext = null!;
    private ReverseProxyFeature _staticFeature = null!;
    private ReverseProxyFeature _discoveredFeature = null!;
    private ClusterState _staticCluster = null!;
    private ClusterState _discoveredCluster = null!;
    private DefaultHttpContext _smallContext = null!;
    private ReverseProxyFeature _smallFeature = null!;
    private ClusterState _smallCluster = null!;

    // ---------------------------------------------------------------- set-up

    [GlobalSetup(Target = nameof(DecodeWatchEvent_100EndpointSlice))]
    public void SetupDecode()
    {
        // One MODIFIED event of one 100-endpoint slice, as one line of the watch stream.
        var slice = OrdersService.SliceJson(ChangedSlice, OrdersService.Condition.NotReady);
        _watchLine = new JsonObject { ["type"] = "MODIFIED", ["object"] = slice }.ToJsonString();
    }

    [GlobalSetup(Target = nameof(MapSlices_500Endpoints))]
    public void SetupMap() => _slices = OrdersService.Slices();

    [GlobalSetup(Target = nameof(PublishUpdate_500Endpoints_OneChanged))]
    public void SetupPublish()
    {
        SetupSets();
        _provider = new GatewayProxyConfigProvider([_source]);
        _source.Current = _discovery.Current;
        _provider.Update(BenchConfig.Snapshot(static500: false));
    }

    [GlobalSetup(Targets = [nameof(ApplyToYarp_500Endpoints_OneChanged), nameof(ApplyToYarp_500Endpoints_OneDraining), nameof(SliceUpdateToYarp_500Endpoints_OneChanged)])]
    public void SetupApply()
    {
        SetupSets();
        _source.Current = _publishedReady;
        _host = GatewayHost.Start(BenchConfig.Build(static500: false), _source);
        _host.WaitForDestinations(OrdersService.Cluster, OrdersService.Endpoints);

        // YARP reloads in the change-token callback of the config it holds; with our filters and validators nothing in it
        // awaits, so the whole apply runs inside Changed. Checked here: the one-draining figure relies on it (no cluster
        // change to wait for there).
        var target = _host.Signal.Changes + 1;
        _source.Current = _publishedChanged;
        _source.RaiseChanged();
        var synchronous = _host.Signal.Changes >= target;
        _host.Signal.WaitFor(target);
        Check(_host.Cluster(OrdersService.Cluster).Destinations.Count == OrdersService.Endpoints - 1, "YARP did not drop the not-ready endpoint");
        Console.WriteLine($"// YARP applied the discovered set synchronously inside Changed: {synchronous}");

        _source.Current = _publishedDraining;
        _source.RaiseChanged();
        _host.Signal.WaitFor(target + 1);
        var drain = _host.Services.GetRequiredService<DestinationDrain>();
        Check(drain.IsDraining(OrdersService.Cluster, ChangedPod), "the terminating pod is not marked draining");
        Check(_host.Cluster(OrdersService.Cluster).Destinations.Count == OrdersService.Endpoints, "YARP does not have all 500 endpoints");
        _source.Current = _publishedReady;
        _source.RaiseChanged();
        Check(!drain.IsDraining(OrdersService.Cluster, ChangedPod), "the drain mark did not go");
        if (!synchronous)
        {
            throw new InvalidOperationException("YARP applied asynchronously: ApplyToYarp_500Endpoints_OneDraining would not measure the apply");
        }

        // SliceUpdateToYarp: the watcher's state, the Service all ready.
        _watcherSlices = OrdersService.Slices().ToDictionary(s => s.Metadata.Name, StringComparer.Ordinal);
        _sliceReady = _watcherSlices[OrdersService.SliceName(ChangedSlice)];
        _sliceChanged = OrdersService.Slices(OrdersService.Condition.NotReady)[ChangedSlice];
        _state = new DiscoveryState(DiscoveredEndpoint.KubernetesSource, OrdersService.Target.ToString(), TimeProvider.System);
        _state.Offer(EndpointSliceMapper.Map(_watcherSlices.Values, OrdersService.Target).Endpoints, "initial list");
        _discovery.Publish(_ready);
        _flip = false;
    }

    [GlobalSetup(Target = nameof(WatchEventToYarp_500Endpoints_OneChanged_RealGateway))]
    public void SetupRealGateway()
    {
        _api = FakeKubernetesApi.StartAsync(useTls: false).GetAwaiter().GetResult();
        for (var s = 0; s < OrdersService.Endpoints / OrdersService.PerSlice; s++)
        {
            _api.Upsert(OrdersService.SliceJson(s));
        }

        _sliceJsonReady = OrdersService.SliceJson(ChangedSlice);
        _sliceJsonChanged = OrdersService.SliceJson(ChangedSlice, OrdersService.Condition.NotReady);
        _kubeConfigDirectory = Directory.CreateTempSubdirectory("gateway-bench-kube-").FullName;
        var kubeConfig = _api.WriteKubeConfig(_kubeConfigDirectory);
        _host = GatewayHost.Start(BenchConfig.Build(static500: false, kubeConfig), source: null);
        _host.WaitForDestinations(OrdersService.Cluster, OrdersService.Endpoints);
        _flip = false;
    }

    [GlobalSetup(Targets = [nameof(Request_Static3), nameof(Request_Static500), nameof(Request_Discovered500)])]
    public void SetupRequests() => SetupRequestPath(oneDraining: false);

    [GlobalSetup(Targets = [nameof(Request_Static500_OneDrained), nameof(Request_Discovered500_OneDraining)])]
    public void SetupRequestsOneDraining() => SetupRequestPath(oneDraining: true);

    [GlobalCleanup]
    public void Cleanup()
    {
        _provider?.Dispose();
        try
        {
            _host?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (ObjectDisposedException ex)
        {
            // With a running Kubernetes watcher, the host's disposal throws: DI disposes DiscoveryManager once per service it is
            // registered as, and the second KubernetesEndpointWatcher.DisposeAsync cancels a disposed CancellationTokenSource.
            Console.WriteLine("// gateway host disposal threw (src issue, see docs/benchmark-results.md 2026-12-01): " + ex.Message);
        }

        _api?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (_kubeConfigDirectory is not null)
        {
            Directory.Delete(_kubeConfigDirectory, recursive: true);
        }
    }

    private void SetupSets()
    {
        _ready = OrdersService.Mapped(OrdersService.Condition.Ready);
        _changed = OrdersService.Mapped(OrdersService.Condition.NotReady);
        var draining = OrdersService.Mapped(OrdersService.Condition.Draining);
        Check(_ready.Count == OrdersService.Endpoints && _changed.Count == OrdersService.Endpoints, "the mapper did not give 500 endpoints");

        var sets = new ClusterDiscovery(OrdersService.Cluster, "bench");
        sets.Publish(_ready);
        _publishedReady = sets.Current;
        sets.Publish(_changed);
        _publishedChanged = sets.Current;
        sets.Publish(_ready);
        sets.Publish(draining);
        _publishedDraining = sets.Current;
        Check(_publishedChanged.Destinations.Count == OrdersService.Endpoints - 1 && _publishedDraining.Draining.Count == 1, "unexpected published sets");

        _discovery = new ClusterDiscovery(OrdersService.Cluster, "bench");
        _discovery.Publish(_ready);
        _source = new BenchDestinationSource();
        _flip = false;
    }

    private void SetupRequestPath(bool oneDraining)
    {
        SetupSets();
        _source.Current = _publishedReady;
        _host = GatewayHost.Start(BenchConfig.Build(static500: true), _source);
        _host.WaitForDestinations(OrdersService.Cluster, OrdersService.Endpoints);
        _host.WaitForDestinations(BenchConfig.Static500, OrdersService.Endpoints);
        if (oneDraining)
        {
            // The discovered pod terminating-but-serving (its drain mark from discovery), the static one drained through the
            // admin API's registry: both reach DrainAwareSelection as one cluster's drain set.
            _source.Current = _publishedDraining;
            _source.RaiseChanged();
            var drain = _host.Services.GetRequiredService<DestinationDrain>();
            drain.Set(new DrainMark(BenchConfig.Static500, ChangedPod), draining: true, "bench");
            Check(drain.IsDraining(OrdersService.Cluster, ChangedPod) && drain.IsDraining(BenchConfig.Static500, ChangedPod), "drain marks missing");
        }

        // The proxy pipeline's steps that read a cluster's destinations, in GatewayPipeline's order, with the forwarder
        // replaced by a terminal that records the chosen destination as the forwarder does (passive health reads it).
        var proxy = new ProxyAppBuilder(new ApplicationBuilder(_host.Services));
        proxy.UseGatewaySessionAffinity();
        proxy.UseDrainAwareSelection();
        proxy.UseLoadBalancing();
        proxy.UsePassiveHealthChecks();
        proxy.Run(static context =>
        {
            var feature = context.GetReverseProxyFeature();
            feature.ProxiedDestination = feature.AvailableDestinations[0];
            return Task.CompletedTask;
        });
        _pipeline = proxy.Build();

        _staticCluster = _host.Cluster(BenchConfig.Static500);
        _discoveredCluster = _host.Cluster(OrdersService.Cluster);
        Check(_staticCluster.Destinations.Values.All(d => _discoveredCluster.Destinations.TryGetValue(d.DestinationId, out var o) && o.Model.Config.Address == d.Model.Config.Address),
            "the static and discovered clusters do not hold the same destinations");
        (_staticContext, _staticFeature) = Context(_host.Route(BenchConfig.Static500), _staticCluster);
        (_discoveredContext, _discoveredFeature) = Context(_host.Route(OrdersService.Cluster), _discoveredCluster);
        _smallCluster = _host.Cluster("svc-1");
        (_smallContext, _smallFeature) = Context(_host.Route("svc-1"), _smallCluster);
        for (var i = 0; i < 1000; i++)
        {
            Request(_staticContext, _staticFeature, _staticCluster);
            Request(_discoveredContext, _discoveredFeature, _discoveredCluster);
            Request(_smallContext, _smallFeature, _smallCluster);
        }

        if (oneDraining)
        {
            Check(_staticFeature.ProxiedDestination?.DestinationId != ChangedPod && _discoveredFeature.ProxiedDestination?.DestinationId != ChangedPod, "a draining destination was picked");
        }
    }

    private static (DefaultHttpContext, ReverseProxyFeature) Context(RouteModel route, ClusterState cluster)
    {
        // What YARP's ProxyPipelineInitializerMiddleware sets up per request (one context reused, so the harness allocates nothing).
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.SetEndpoint(new Endpoint(static _ => Task.CompletedTask, new EndpointMetadataCollection(route), route.Config.RouteId));
        var feature = new ReverseProxyFeature
        {
            Route = route,
            Cluster = cluster.Model,
            AllDestinations = cluster.DestinationsState.AllDestinations,
            AvailableDestinations = cluster.DestinationsState.AvailableDestinations,
        };
        context.Features.Set<IReverseProxyFeature>(feature);
        return (context, feature);
    }

    private Task Request(DefaultHttpContext context, ReverseProxyFeature feature, ClusterState cluster)
    {
        feature.Cluster = cluster.Model;
        feature.AvailableDestinations = cluster.DestinationsState.AvailableDestinations;
        feature.ProxiedDestination = null;
        return _pipeline(context);
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("benchmark set-up: " + what);
        }
    }

    // ---------------------------------------------------------------- the update

    /// <summary>The watch stream's decode of one line (EndpointSliceWatch.Parse): a MODIFIED event carrying one 100-endpoint slice.</summary>
    [Benchmark]
    public object? DecodeWatchEvent_100EndpointSlice() => EndpointSliceWatch.Parse(_watchLine, static e => throw e);

    /// <summary>All 5 slices of the Service to one ordered endpoint set (the watcher maps all slices on every event).</summary>
    [Benchmark]
    public object MapSlices_500Endpoints() => EndpointSliceMapper.Map(_slices, OrdersService.Target);

    /// <summary>
    /// ClusterDiscovery.Publish of the 500-endpoint set with one endpoint's condition changed, then the Changed event:
    /// GatewayProxyConfigProvider re-hands the last validated config (10 clusters) with the discovered set merged. No YARP.
    /// </summary>
    [Benchmark]
    public object PublishUpdate_500Endpoints_OneChanged()
    {
        _flip = !_flip;
        _discovery.Publish(_flip ? _changed : _ready);
        _source.Current = _discovery.Current;
        _source.RaiseChanged();
        return _provider!.GetConfig();
    }

    /// <summary>
    /// From the source's Changed event (the set already published) until YARP's IProxyStateLookup shows the new destination
    /// set (its OnClusterChanged): the provider's merge, YARP's reload of all 10 clusters (config filters, validation, pool
    /// factory, destination diff, destination states), the drain registry's refresh.
    /// </summary>
    [Benchmark]
    public int ApplyToYarp_500Endpoints_OneChanged()
    {
        _flip = !_flip;
        var target = _host!.Signal.Changes + 1;
        _source.Current = _flip ? _publishedChanged : _publishedReady;
        _source.RaiseChanged();
        _host.Signal.WaitFor(target);
        return target;
    }

    /// <summary>As above, for a pod turning terminating-but-serving: YARP's set does not change, the drain marks do.</summary>
    [Benchmark]
    public int ApplyToYarp_500Endpoints_OneDraining()
    {
        _flip = !_flip;
        _source.Current = _flip ? _publishedDraining : _publishedReady;
        _source.RaiseChanged();
        return _source.Current.Draining.Count;
    }

    /// <summary>
    /// The whole in-process update from the watcher's slice dictionary: one slice replaced (as a MODIFIED event does), Map,
    /// DiscoveryState.Offer, ClusterDiscovery.Publish, Changed, until YARP shows the set. Not included: decoding the event
    /// (<see cref="DecodeWatchEvent_100EndpointSlice"/>), the watcher's log line, DiscoveryManager's idle-close task per removed endpoint.
    /// </summary>
    [Benchmark]
    public int SliceUpdateToYarp_500Endpoints_OneChanged()
    {
        _flip = !_flip;
        var slice = _flip ? _sliceChanged : _sliceReady;
        _watcherSlices[slice.Metadata.Name] = slice;
        var mapping = EndpointSliceMapper.Map(_watcherSlices.Values, OrdersService.Target);
        var update = _state.Offer(mapping.Endpoints, "watch MODIFIED " + slice.Metadata.Name)
            ?? throw new InvalidOperationException("no change offered");
        var target = _host!.Signal.Changes + 1;
        _discovery.Publish(update.Endpoints);
        _source.Current = _discovery.Current;
        _source.RaiseChanged();
        _host.Signal.WaitFor(target);
        return target;
    }

    /// <summary>
    /// The real gateway (DiscoveryManager and KubernetesEndpointWatcher, watching the functional tests' fake API server over
    /// loopback HTTP): from the API server writing one MODIFIED event until YARP shows the new set. The fake server runs in
    /// this process, so its work (cloning and serializing the slice, ~the same size as the client's decode) is in the figures.
    /// </summary>
    [Benchmark]
    public int WatchEventToYarp_500Endpoints_OneChanged_RealGateway()
    {
        _flip = !_flip;
        var target = _host!.Signal.Changes + 1;
        _api!.Upsert(_flip ? _sliceJsonChanged : _sliceJsonReady);
        _host.Signal.WaitFor(target);
        return target;
    }

    // ---------------------------------------------------------------- per request

    /// <summary>The per-request steps that read destinations (affinity, drain-aware selection, load balancing, passive health), 3 static destinations: the reference.</summary>
    [Benchmark]
    public Task Request_Static3() => Request(_smallContext, _smallFeature, _smallCluster);

    /// <summary>The same steps, 500 static destinations.</summary>
    [Benchmark]
    public Task Request_Static500() => Request(_staticContext, _staticFeature, _staticCluster);

    /// <summary>The same steps, the same 500 pods delivered by discovery.</summary>
    [Benchmark]
    public Task Request_Discovered500() => Request(_discoveredContext, _discoveredFeature, _discoveredCluster);

    /// <summary>500 static destinations, one drained through the drain registry (the admin API's path).</summary>
    [Benchmark]
    public Task Request_Static500_OneDrained() => Request(_staticContext, _staticFeature, _staticCluster);

    /// <summary>500 discovered destinations, one pod terminating-but-serving (drained by discovery).</summary>
    [Benchmark]
    public Task Request_Discovered500_OneDraining() => Request(_discoveredContext, _discoveredFeature, _discoveredCluster);
}
