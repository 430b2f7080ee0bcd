// Hands YARP only configurations that passed our validation (keep-last-good lives in GatewayConfigStore), with the
// destinations that IDestinationSources supply (e.g. discovered pods) added to the clusters they serve, and the values
// IClusterMetadataSources add to their Metadata. A source's change re-hands YARP the same validated config with the new
// sets or values; YARP then updates only the clusters that changed.
using Gateway.Foundation;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Configuration;

internal sealed class GatewayProxyConfigProvider : IProxyConfigProvider, IDisposable
{
    private readonly IDestinationSource[] _sources;
    private readonly IClusterMetadataSource[] _metadata;
    private readonly Lock _publishLock = new();
    private ProxySnapshot _applied = new([], []);
    private volatile Snapshot _current = new([], [], new CancellationTokenSource());

    public GatewayProxyConfigProvider(IEnumerable<IDestinationSource> sources, IEnumerable<IClusterMetadataSource>? metadata = null)
    {
        _sources = sources.ToArray();
        _metadata = metadata?.ToArray() ?? [];
        foreach (var source in _sources)
        {
            source.Changed += Republish;
        }

        foreach (var source in _metadata)
        {
            source.Changed += Republish;
        }
    }

    public IProxyConfig GetConfig() => _current;

    /// <summary>Publishes a newly validated config.</summary>
    public void Update(ProxySnapshot snapshot)
    {
        lock (_publishLock)
        {
            _applied = snapshot;
            Publish();
        }

        foreach (var source in _sources)
        {
            source.ClustersApplied(snapshot.Clusters);
        }
    }

    private void Republish()
    {
        lock (_publishLock)
        {
            Publish();
        }
    }

    private void Publish()
    {
        var clusters = _applied.Clusters;
        if (_sources.Length > 0 || _metadata.Length > 0)
        {
            var withSupplied = new List<ClusterConfig>(clusters.Count);
            foreach (var cluster in clusters)
            {
                withSupplied.Add(AddMetadata(AddSupplied(cluster)));
            }

            clusters = withSupplied;
        }

        var previous = _current;
        _current = new Snapshot(_applied.Routes, clusters, new CancellationTokenSource());
        previous.Signal();
    }

    // A static destination keeps its id when a source supplies one of the same id.
    private ClusterConfig AddSupplied(ClusterConfig cluster)
    {
        Dictionary<string, DestinationConfig>? destinations = null;
        foreach (var source in _sources)
        {
            if (source.GetDestinations(cluster) is not { } supplied)
            {
                continue;
            }

            destinations ??= cluster.Destinations is null
                ? new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase)
                : new Dictionary<string, DestinationConfig>(cluster.Destinations, StringComparer.OrdinalIgnoreCase);
            foreach (var (id, destination) in supplied)
            {
                destinations.TryAdd(id, destination);
            }
        }

        return destinations is null ? cluster : cluster with { Destinations = destinations };
    }

    private ClusterConfig AddMetadata(ClusterConfig cluster)
    {
        Dictionary<string, string>? metadata = null;
        foreach (var source in _metadata)
        {
            if (source.GetValue(cluster) is { } value)
            {
                metadata ??= cluster.Metadata is null ? new(StringComparer.OrdinalIgnoreCase) : new(cluster.Metadata, StringComparer.OrdinalIgnoreCase);
                metadata[source.MetadataKey] = value;
            }
        }

        return metadata is null ? cluster : cluster with { Metadata = metadata };
    }

    public void Dispose()
    {
        foreach (var source in _sources)
        {
            source.Changed -= Republish;
        }

        foreach (var source in _metadata)
        {
            source.Changed -= Republish;
        }
    }

    private sealed class Snapshot : IProxyConfig
    {
        private readonly CancellationTokenSource _changed;

        public Snapshot(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters, CancellationTokenSource changed)
        {
            Routes = routes;
            Clusters = clusters;
            _changed = changed;
            ChangeToken = new CancellationChangeToken(changed.Token);
        }

        public IReadOnlyList<RouteConfig> Routes { get; }

        public IReadOnlyList<ClusterConfig> Clusters { get; }

        public IChangeToken ChangeToken { get; }

        public void Signal()
        {
            _changed.Cancel();
            _changed.Dispose();
        }
    }
}
