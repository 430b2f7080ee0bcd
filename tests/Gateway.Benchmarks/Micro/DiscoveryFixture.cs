// What DiscoveryBenchmarks runs against: a 500-endpoint Service as the EndpointSlice controller shards it, a gateway
// config of 10 clusters, an in-process gateway host (Program.cs's composition, no Kestrel), a stand-in destination source
// and a cluster-change listener that says when YARP has applied a set.
using System.Text.Json.Nodes;
using Gateway.Configuration;
using Gateway.Discovery;
using Gateway.Foundation;
using Gateway.TestSupport;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace Gateway.Benchmarks.Micro;

/// <summary>
/// The <c>orders</c> Service in <c>shop</c>: 500 pods in 5 EndpointSlices of 100 (the controller's default
/// <c>--max-endpoints-per-slice</c>), one named port <c>http</c> = 8080, each endpoint with ready/serving/terminating
/// conditions, a targetRef to its pod, a node name and a zone, as the controller writes them.
/// </summary>
internal static class OrdersService
{
    public const string Namespace = "shop";
    public const string Service = "orders";
    public const string Cluster = "orders";
    public const int Endpoints = 500;
    public const int PerSlice = 100;

    /// <summary>The endpoint whose condition changes in the "one changed" updates (slice 2, position 50).</summary>
    public const int Changed = 250;

    public static readonly KubernetesDiscoveryTarget Target = new(Namespace, Service, "http", "http", Cluster);

    public enum Condition
    {
        Ready,
        NotReady,
        Draining,
    }

    public static string SliceName(int slice) => Service + "-" + Suffix(slice * 7919 + 13);

    public static string Pod(int i) => Service + "-7d9f8b6c5d-" + Suffix(i);

    public static string Address(int i) => $"10.244.{i / 200}.{i % 200 + 2}";

    /// <summary>Slice <paramref name="slice"/> as the API server sends it, with endpoint <see cref="Changed"/> (if in it) in <paramref name="changed"/>.</summary>
    public static JsonObject SliceJson(int slice, Condition changed = Condition.Ready)
    {
        var endpoints = new List<JsonObject>(PerSlice);
        for (var i = slice * PerSlice; i < (slice + 1) * PerSlice; i++)
        {
            var condition = i == Changed ? changed : Condition.Ready;
            var endpoint = condition switch
            {
                Condition.NotReady => EndpointSliceJson.NotReady(Address(i), Pod(i)),
                Condition.Draining => EndpointSliceJson.Terminating(Address(i), Pod(i)),
                _ => EndpointSliceJson.Ready(Address(i), Pod(i)),
            };
            endpoint["nodeName"] = "node-" + (i % 20);
            endpoint["zone"] = "zone-" + (char)('a' + i % 3);
            endpoints.Add(endpoint);
        }

        return EndpointSliceJson.Slice(SliceName(slice), Service, endpoints, [EndpointSliceJson.Port("http", 8080)], Namespace);
    }

    /// <summary>The slices as the watcher holds them: deserialized by the Kubernetes client from the API's JSON.</summary>
    public static List<V1EndpointSlice> Slices(Condition changed = Condition.Ready)
    {
        var slices = new List<V1EndpointSlice>(Endpoints / PerSlice);
        for (var s = 0; s < Endpoints / PerSlice; s++)
        {
            slices.Add(KubernetesJson.Deserialize<V1EndpointSlice>(SliceJson(s, changed).ToJsonString()));
        }

        return slices;
    }

    /// <summary>The mapped endpoint set (ordered by id, as the watcher offers it).</summary>
    public static IReadOnlyList<DiscoveredEndpoint> Mapped(Condition changed) => EndpointSliceMapper.Map(Slices(changed), Target).Endpoints;

    // Pod-name-like suffixes: the controller's alphabet (no vowels, no 0/1/3), deterministic.
    private static string Suffix(int seed)
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        Span<char> chars = stackalloc char[5];
        var x = (uint)seed * 2654435761u + 97;
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = alphabet[(int)(x % (uint)alphabet.Length)];
            x = x / (uint)alphabet.Length + (uint)(seed * 31 + i * 17);
        }

        return new string(chars);
    }
}

/// <summary>The gateway config the benchmarks use: 10 clusters, one route each.</summary>
internal static class BenchConfig
{
    public const string Static500 = "static-500";

    /// <summary>
    /// Small static clusters (3 destinations each) and <c>orders</c> with a Kubernetes Discovery block; with
    /// <paramref name="static500"/>, one of the small clusters is replaced by <c>static-500</c>: the same 500 pods as static
    /// destinations (same ids and addresses), for the per-request comparison.
    /// </summary>
    public static JsonObject Build(bool static500, string? kubeConfig = null)
    {
        var routes = new JsonObject();
        var clusters = new JsonObject();
        var small = static500 ? 8 : 9;
        for (var c = 1; c <= small; c++)
        {
            var id = "svc-" + c;
            var destinations = new JsonObject();
            for (var d = 1; d <= 3; d++)
            {
                destinations[$"{id}-{d}"] = new JsonObject { ["Address"] = $"http://10.96.{c}.{d}:8080/" };
            }

            clusters[id] = new JsonObject { ["Destinations"] = destinations };
            routes[id] = Route(id);
        }

        if (static500)
        {
            var destinations = new JsonObject();
            for (var i = 0; i < OrdersService.Endpoints; i++)
            {
                destinations[OrdersService.Pod(i)] = new JsonObject { ["Address"] = $"http://{OrdersService.Address(i)}:8080" };
            }

            clusters[Static500] = new JsonObject { ["Destinations"] = destinations };
            routes[Static500] = Route(Static500);
        }

        clusters[OrdersService.Cluster] = new JsonObject
        {
            ["Discovery"] = new JsonObject
            {
                ["Kubernetes"] = new JsonObject { ["Namespace"] = OrdersService.Namespace, ["Service"] = OrdersService.Service, ["Port"] = "http" },
            },
        };
        routes[OrdersService.Cluster] = Route(OrdersService.Cluster);

        var gateway = new JsonObject();
        if (kubeConfig is not null)
        {
            gateway["Discovery"] = new JsonObject { ["Kubernetes"] = new JsonObject { ["KubeConfig"] = kubeConfig } };
        }

        return new JsonObject
        {
            ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Warning" } },
            ["Gateway"] = gateway,
            ["ReverseProxy"] = new JsonObject { ["Routes"] = routes, ["Clusters"] = clusters },
        };
    }

    /// <summary>The routes and clusters as the gateway's config reader produces them (blocks captured into Metadata).</summary>
    public static ProxySnapshot Snapshot(bool static500)
    {
        var config = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Build(static500).ToJsonString())))
            .Build();
        var errors = new List<string>();
        var snapshot = ProxyConfigReader.Read(config, [DiscoveryOptions.Block, Pooling.ConnectionPoolOptions.Block, PassiveHealth.PassiveHealthDefaultsOptions.Block, Retries.RetryOptions.Block], errors);
        return errors.Count == 0 ? snapshot : throw new InvalidOperationException(string.Join("; ", errors));
    }

    private static JsonObject Route(string cluster) => new()
    {
        ["ClusterId"] = cluster,
        ["Match"] = new JsonObject { ["Path"] = "/" + cluster + "/{**rest}" },
    };
}

/// <summary>
/// Stands in for DiscoveryManager as IDestinationSource and IDestinationDrainSource: serves <see cref="Current"/> (a set
/// ClusterDiscovery.Publish built) for <c>orders</c>, and its drain marks built per call as DiscoveryManager.Draining does.
/// </summary>
internal sealed class BenchDestinationSource : IDestinationSource, IDestinationDrainSource
{
    public PublishedSet Current { get; set; } = PublishedSet.Empty;

    public string Name => "bench-discovery";

    public event Action? Changed;

    public IReadOnlyDictionary<string, DestinationConfig>? GetDestinations(ClusterConfig cluster) =>
        string.Equals(cluster.ClusterId, OrdersService.Cluster, StringComparison.OrdinalIgnoreCase) ? Current.Destinations : null;

    public bool Supplies(string clusterId, string destinationId) =>
        string.Equals(clusterId, OrdersService.Cluster, StringComparison.OrdinalIgnoreCase) && Current.Destinations.ContainsKey(destinationId);

    public void ClustersApplied(IReadOnlyList<ClusterConfig> clusters)
    {
    }

    public IReadOnlyCollection<(string ClusterId, string DestinationId)> Draining
    {
        get
        {
            var draining = new List<(string, string)>();
            foreach (var id in Current.Draining)
            {
                draining.Add((OrdersService.Cluster, id));
            }

            return draining;
        }
    }

    /// <summary>What DiscoveryManager.OnUpdate does after ClusterDiscovery.Publish.</summary>
    public void RaiseChanged() => Changed?.Invoke();
}

/// <summary>Counts YARP's OnClusterChanged for one cluster: the moment IProxyStateLookup shows the new destination set.</summary>
internal sealed class ClusterAppliedSignal(string clusterId) : IClusterChangeListener, IDisposable
{
    private readonly SemaphoreSlim _changed = new(0);
    private int _changes;

    public int Changes => Volatile.Read(ref _changes);

    public void OnClusterAdded(ClusterState cluster)
    {
    }

    public void OnClusterChanged(ClusterState cluster)
    {
        if (string.Equals(cluster.ClusterId, clusterId, StringComparison.OrdinalIgnoreCase))
        {
            Interlocked.Increment(ref _changes);
            _changed.Release();
        }
    }

    public void OnClusterRemoved(ClusterState cluster)
    {
    }

    /// <summary>Returns once the cluster has changed <paramref name="target"/> times (at once when YARP applied synchronously).</summary>
    public void WaitFor(int target)
    {
        while (Changes < target)
        {
            if (!_changed.Wait(TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException($"YARP did not apply cluster '{clusterId}' within 30 s");
            }
        }
    }

    public void Dispose() => _changed.Dispose();
}

/// <summary>
/// The gateway as Program.cs composes it (AddGatewayConfiguration + AddGatewayFeatures + UseGatewayPipeline), built but not
/// started: no Kestrel, no hosted services; YARP's ProxyConfigManager is live (MapReverseProxy loads it) and applies every
/// config the provider publishes. With a <see cref="BenchDestinationSource"/>, that source replaces DiscoveryManager as the
/// destination source; without one, the real DiscoveryManager runs (it then needs Gateway:Discovery:Kubernetes:KubeConfig).
/// </summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _directory;

    private GatewayHost(WebApplication app, string directory, ClusterAppliedSignal signal)
    {
        _app = app;
        _directory = directory;
        Signal = signal;
    }

    public IServiceProvider Services => _app.Services;

    public IProxyStateLookup ProxyState => _app.Services.GetRequiredService<IProxyStateLookup>();

    public ClusterAppliedSignal Signal { get; }

    public static GatewayHost Start(JsonObject config, BenchDestinationSource? source)
    {
        var directory = Directory.CreateTempSubdirectory("gateway-bench-").FullName;
        var path = Path.Combine(directory, "gateway.json");
        File.WriteAllText(path, config.ToJsonString());
        string[] args = ["--config", path];

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = directory, EnvironmentName = "Production" });
        builder.AddGatewayConfiguration(args);
        builder.Logging.ClearProviders();
        builder.Services.AddGatewayFeatures(builder.Configuration);
        if (source is not null)
        {
            builder.Services.RemoveAll<IDestinationSource>();
            builder.Services.AddSingleton<IDestinationSource>(source);
            builder.Services.AddSingleton<IDestinationDrainSource>(source);
        }

        var signal = new ClusterAppliedSignal(OrdersService.Cluster);
        builder.Services.AddSingleton<IClusterChangeListener>(signal);

        var app = builder.Build();
        if (!app.ValidateGatewayConfiguration())
        {
            throw new InvalidOperationException("the benchmark's gateway config is invalid (see stderr)");
        }

        app.UseGatewayPipeline();
        return new GatewayHost(app, directory, signal);
    }

    public ClusterState Cluster(string id) =>
        ProxyState.TryGetCluster(id, out var cluster) ? cluster : throw new InvalidOperationException($"YARP has no cluster '{id}'");

    public RouteModel Route(string id) =>
        ProxyState.TryGetRoute(id, out var route) ? route : throw new InvalidOperationException($"YARP has no route '{id}'");

    /// <summary>Polls until YARP's cluster has <paramref name="count"/> destinations (for set-up, not measured).</summary>
    public void WaitForDestinations(string clusterId, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(ProxyState.TryGetCluster(clusterId, out var cluster) && cluster.Destinations.Count == count))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"cluster '{clusterId}' never reached {count} destinations");
            }

            Thread.Sleep(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.DisposeAsync();
        }
        finally
        {
            Signal.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
