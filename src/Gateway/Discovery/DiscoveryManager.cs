// Runs one discovery provider per cluster that has a Discovery block, and turns what each publishes into YARP
// destinations (ready and terminating-but-serving endpoints), drain marks (terminating-but-serving) and, for endpoints
// that went away, closed connections once their requests have finished.
// Gap in YARP: it has no service discovery (its IDestinationResolver sees destinations, not the cluster), and it drops
// a removed destination's DestinationState but leaves that endpoint's pooled connections to their idle timeout.
using System.Collections.Concurrent;
using Gateway.Foundation;
using Gateway.Pooling;
using k8s;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace Gateway.Discovery;

internal sealed class DiscoveryManager(ClusterPools pools, TimeProvider time, ILoggerFactory loggers)
    : IDestinationSource, IDestinationDrainSource, IClusterChangeListener, IHostedService, IAsyncDisposable
{
    /// <summary>How long a removed endpoint's requests may run before its connections are closed anyway.</summary>
    internal static readonly TimeSpan RemovalGracePeriod = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan RemovalPollInterval = TimeSpan.FromMilliseconds(100);

    private readonly ILogger _logger = loggers.CreateLogger<DiscoveryManager>();
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, ClusterDiscovery> _clusters = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, ClusterState> _yarpClusters = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, (IKubernetes Client, string? Namespace)> _kubernetesClients = new(StringComparer.Ordinal);

    // Never disposed: removal waits may still read its token after the host stopped (a CTS without a timer holds nothing).
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    public event Action? Changed;

    /// <summary>When the gateway started discovering (a timestamp of the injected TimeProvider).</summary>
    public long CreatedAt { get; } = time.GetTimestamp();

    public string Name => "discovery";

    /// <summary>The clusters being discovered, for metrics, readiness and the admin API.</summary>
    public IReadOnlyCollection<ClusterDiscovery> Clusters => [.. _clusters.Values];

    public bool TryGet(string clusterId, out ClusterDiscovery discovery) => _clusters.TryGetValue(clusterId, out discovery!);

    public bool Supplies(string clusterId, string destinationId) =>
        _clusters.TryGetValue(clusterId, out var discovery) && discovery.Current.Destinations.ContainsKey(destinationId);

    public IReadOnlyCollection<(string ClusterId, string DestinationId)> Draining
    {
        get
        {
            var draining = new List<(string, string)>();
            foreach (var discovery in _clusters.Values)
            {
                foreach (var id in discovery.Current.Draining)
                {
                    draining.Add((discovery.ClusterId, id));
                }
            }

            return draining;
        }
    }

    public IReadOnlyDictionary<string, DestinationConfig>? GetDestinations(ClusterConfig cluster)
    {
        if (cluster.Metadata is null || !cluster.Metadata.TryGetValue(DiscoveryOptions.Block.MetadataKey, out var settingsKey)
            || DiscoveryOptions.Block.Get(cluster.Metadata) is not { Own: { } own } options)
        {
            return null;
        }

        ClusterDiscovery? replaced = null;
        ClusterDiscovery running;
        lock (_gate)
        {
            if (!_clusters.TryGetValue(cluster.ClusterId, out running!) || running.SettingsKey != settingsKey)
            {
                replaced = running;
                running = Start(cluster.ClusterId, settingsKey, own, options.Defaults, replaced?.Current);
                _clusters[cluster.ClusterId] = running;
            }
        }

        if (replaced is not null)
        {
            Stop(replaced, "its Discovery block changed");
        }

        return running.Current.Destinations;
    }

    public void ClustersApplied(IReadOnlyList<ClusterConfig> clusters)
    {
        var live = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var cluster in clusters)
        {
            if (DiscoveryOptions.Block.Get(cluster.Metadata).Own is not null)
            {
                live.Add(cluster.ClusterId);
            }
        }

        foreach (var discovery in _clusters.Values)
        {
            if (!live.Contains(discovery.ClusterId) && _clusters.TryRemove(new KeyValuePair<string, ClusterDiscovery>(discovery.ClusterId, discovery)))
            {
                Stop(discovery, "the cluster or its Discovery block was removed");
                Changed?.Invoke();
            }
        }
    }

    public void OnClusterAdded(ClusterState cluster) => _yarpClusters[cluster.ClusterId] = cluster;

    public void OnClusterChanged(ClusterState cluster)
    {
        _yarpClusters[cluster.ClusterId] = cluster;

        // YARP has applied a set: endpoints that were draining when they went away are out of rotation for good now.
        if (_clusters.TryGetValue(cluster.ClusterId, out var discovery) && discovery.ForgetRemoved(cluster.Destinations))
        {
            Changed?.Invoke();
        }
    }

    public void OnClusterRemoved(ClusterState cluster) => _yarpClusters.TryRemove(new KeyValuePair<string, ClusterState>(cluster.ClusterId, cluster));

    /// <summary>
    /// Starts a provider for the cluster. A restarted one (its block changed on reload) serves the previous set until it
    /// publishes its own, so a reload never leaves the cluster without destinations.
    /// </summary>
    private ClusterDiscovery Start(string clusterId, string settingsKey, DiscoveryOptions own, DiscoveryOptions defaults, PublishedSet? previous)
    {
        var discovery = new ClusterDiscovery(clusterId, settingsKey, previous);
        try
        {
            var logger = loggers.CreateLogger("Gateway.Discovery." + (own.Kubernetes is not null ? nameof(KubernetesEndpointWatcher) : nameof(DnsEndpointResolver)));
            IEndpointDiscovery provider;
            if (own.Kubernetes is { } kubernetes)
            {
                var (client, credentialsNamespace) = KubernetesClient(defaults.Kubernetes?.KubeConfig);
                var target = new KubernetesDiscoveryTarget(
                    kubernetes.Namespace ?? defaults.Kubernetes?.Namespace ?? credentialsNamespace ?? "default",
                    kubernetes.Service!,
                    kubernetes.Port!,
                    (kubernetes.Scheme ?? defaults.Kubernetes?.Scheme ?? "http").ToLowerInvariant(),
                    clusterId);
                provider = new KubernetesEndpointWatcher(target, client, update => OnUpdate(discovery, update), time, logger);
            }
            else
            {
                var dns = own.Dns!;
                var target = new DnsDiscoveryTarget(
                    dns.Name!,
                    dns.Port!.Value,
                    (dns.Scheme ?? defaults.Dns?.Scheme ?? "http").ToLowerInvariant(),
                    dns.RefreshInterval ?? defaults.Dns?.RefreshInterval,
                    clusterId);
                provider = new DnsEndpointResolver(target, defaults.Dns?.Servers, update => OnUpdate(discovery, update), time, logger);
            }

            discovery.Provider = provider;
            Log.DiscoveryStarted(_logger, clusterId, provider.Source, provider.Target);
            provider.Start();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // No credentials, an unreadable kubeconfig: nothing to retry until the config changes. The cluster serves its
            // static destinations (if any), readiness is not held, and the error shows in metrics and the admin API.
            discovery.StartError = ex.Message;
            Log.DiscoveryNotStarted(_logger, clusterId, ex.Message);
        }

        return discovery;
    }

    private void OnUpdate(ClusterDiscovery discovery, DiscoveryUpdate update)
    {
        if (!_clusters.TryGetValue(discovery.ClusterId, out var current) || !ReferenceEquals(current, discovery))
        {
            return; // a stopped provider's last word
        }

        var removed = discovery.Publish(update.Endpoints);
        if (removed.Count > 0 && _yarpClusters.TryGetValue(discovery.ClusterId, out var yarpCluster))
        {
            foreach (var (id, address) in removed)
            {
                // Still YARP's until it applies the new set: its request count tells when the endpoint is idle.
                yarpCluster.Destinations.TryGetValue(id, out var state);
                _ = CloseWhenIdleAsync(discovery, id, address, state);
            }
        }

        Changed?.Invoke();
    }

    /// <summary>Waits until YARP no longer routes to the endpoint and its requests have ended, then closes its connections.</summary>
    private async Task CloseWhenIdleAsync(ClusterDiscovery discovery, string id, string address, DestinationState? state)
    {
        var started = time.GetTimestamp();
        try
        {
            while (time.GetElapsedTime(started) < RemovalGracePeriod)
            {
                var inYarp = _yarpClusters.TryGetValue(discovery.ClusterId, out var cluster) && cluster.Destinations.ContainsKey(id);
                if (!inYarp && (state is null || state.ConcurrentRequestCount == 0))
                {
                    break;
                }

                await Task.Delay(RemovalPollInterval, time, _stopping.Token);
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }

        // Back already (the same pod, or its address reused), or another destination serves that address: leave them.
        if (discovery.Current.Destinations.ContainsKey(id) || !Uri.TryCreate(address, UriKind.Absolute, out var uri)
            || (_yarpClusters.TryGetValue(discovery.ClusterId, out var yarp) && ServesAddress(yarp, uri)))
        {
            return;
        }

        var closed = pools.CloseConnectionsTo(discovery.ClusterId, uri);
        Log.RemovedEndpointConnectionsClosed(_logger, discovery.ClusterId, id, closed, time.GetElapsedTime(started).TotalMilliseconds);
    }

    private static bool ServesAddress(ClusterState cluster, Uri address)
    {
        foreach (var destination in cluster.Destinations.Values)
        {
            if (Uri.TryCreate(destination.Model?.Config.Address, UriKind.Absolute, out var other)
                && other.Port == address.Port && string.Equals(other.IdnHost, address.IdnHost, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private void Stop(ClusterDiscovery discovery, string why)
    {
        Log.DiscoveryStopped(_logger, discovery.ClusterId, why);
        if (discovery.Provider is { } provider)
        {
            _ = provider.DisposeAsync().AsTask();
        }
    }

    // One client per kubeconfig: each holds an HttpClient and its connections to the API server.
    private (IKubernetes Client, string? Namespace) KubernetesClient(string? kubeConfig) => _kubernetesClients.GetOrAdd(kubeConfig ?? string.Empty, path =>
    {
        var client = KubernetesEndpointWatcher.CreateClient(path.Length == 0 ? null : path, _logger, out var @namespace);
        return (client, @namespace);
    });

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        foreach (var discovery in _clusters.Values)
        {
            if (discovery.Provider is { } provider)
            {
                await provider.StopAsync();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Registered under several service types, so the container disposes it once per registration.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var discovery in _clusters.Values)
        {
            if (discovery.Provider is { } provider)
            {
                await provider.DisposeAsync();
            }
        }

        foreach (var (client, _) in _kubernetesClients.Values)
        {
            client.Dispose();
        }
    }
}
