// The breakers of every cluster that has one, by cluster id, so a reload that keeps a cluster keeps its count of
// requests in flight (new limits apply to it); looked up per request through the ClusterModel, which YARP replaces
// whenever the cluster's config (its CircuitBreaker block included) changes.
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Yarp.ReverseProxy.Model;

namespace Gateway.CircuitBreaker;

internal sealed class CircuitBreakers
{
    private static readonly Entry Unlimited = new(null);

    private readonly ConditionalWeakTable<ClusterModel, Entry> _byModel = new();
    private readonly ConcurrentDictionary<string, ClusterBreaker> _byId = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The cluster's breaker, or null when it has no limit.</summary>
    public ClusterBreaker? For(ClusterModel model)
    {
        if (_byModel.TryGetValue(model, out var entry))
        {
            return entry.Breaker;
        }

        var block = CircuitBreakerOptions.Block.Get(model.Config.Metadata);
        var settings = CircuitBreakerSettings.Resolve(block.Own, block.Defaults);
        ClusterBreaker? breaker = null;
        if (settings.Enabled)
        {
            breaker = _byId.GetOrAdd(model.Config.ClusterId, static id => new ClusterBreaker(id));
            breaker.SetLimits(settings.MaxConcurrentRequests, settings.MaxPendingRequests);
        }

        _byModel.AddOrUpdate(model, breaker is null ? Unlimited : new Entry(breaker));
        return breaker;
    }

    private sealed record Entry(ClusterBreaker? Breaker);
}
