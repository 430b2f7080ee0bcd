// Registry of every cluster's current pool and the ones being retired; feeds the admin API and metrics.
using System.Collections.Concurrent;

namespace Gateway.Pooling;

internal sealed class ClusterPools
{
    private readonly ConcurrentDictionary<string, PoolStats> _stats = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, ClusterInvoker> _current = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<ClusterInvoker, byte> _retiring = new();
    private int _generation;

    public PoolStats StatsFor(string clusterId) => _stats.GetOrAdd(clusterId, static _ => new PoolStats());

    public int NextGeneration() => Interlocked.Increment(ref _generation);

    public void SetCurrent(ClusterInvoker invoker) => _current[invoker.ClusterId] = invoker;

    public ClusterInvoker? Current(string clusterId) => _current.TryGetValue(clusterId, out var invoker) ? invoker : null;

    /// <summary>Forgets the cluster's current pool if it is <paramref name="invoker"/>; returns whether it was.</summary>
    public bool RemoveCurrent(ClusterInvoker invoker) =>
        _current.TryRemove(new KeyValuePair<string, ClusterInvoker>(invoker.ClusterId, invoker));

    public void MarkRetiring(ClusterInvoker invoker) => _retiring.TryAdd(invoker, 0);

    public void MarkRetired(ClusterInvoker invoker) => _retiring.TryRemove(invoker, out _);

    public IEnumerable<ClusterInvoker> CurrentPools => _current.Values;

    public IEnumerable<ClusterInvoker> RetiringPools => _retiring.Keys;

    public IEnumerable<KeyValuePair<string, PoolStats>> AllStats => _stats;

    /// <summary>
    /// Closes the cluster's connections to <paramref name="address"/>'s host and port (a destination that was removed);
    /// returns how many. Call once its requests have finished: a request still using a connection would fail.
    /// </summary>
    public int CloseConnectionsTo(string clusterId, Uri address) =>
        _stats.TryGetValue(clusterId, out var stats) ? stats.CloseConnectionsTo(address.IdnHost, address.Port) : 0;
}
