// The YARP pipeline step between session affinity and load balancing: keeps new sessions and non-affinitized requests
// off draining destinations, while a session pinned to one keeps it.
using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using Gateway.Foundation;
using Yarp.ReverseProxy.Model;

namespace Gateway.DestinationDraining;

internal sealed class DrainAwareSelection(DestinationDrain drain) : IRequestStep
{
    // The filtered list per YARP list: YARP hands every request of a cluster the same AvailableDestinations instance
    // (replaced when health changes) and DestinationDrain publishes a new set per change, so one filtered array per
    // (list, set) pair serves every request in between without allocating. Weak keys: a replaced list takes its entry with it.
    private readonly ConditionalWeakTable<IReadOnlyList<DestinationState>, Filtered> _filtered = [];

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var feature = context.GetReverseProxyFeature();
        var available = feature.AvailableDestinations;

        // YARP's affinity step narrows AvailableDestinations to the pinned DestinationState itself (it is its own
        // one-item list) only when the cookie was honoured; every other path leaves a list of destinations.
        if (available is DestinationState || !drain.AnyDraining || !drain.TryGetDraining(feature.Cluster.Config.ClusterId, out var draining))
        {
            return next(context);
        }

        if (_filtered.TryGetValue(available, out var cached) && ReferenceEquals(cached.Draining, draining))
        {
            // Same list and same drain marks as when it was built: the same answer.
            if (cached.Destinations is { } kept)
            {
                feature.AvailableDestinations = kept;
            }

            return next(context);
        }

        feature.AvailableDestinations = Filter(available, draining) ?? available;
        return next(context);
    }

    /// <summary>The destinations not draining, or null when that is all of them or none (serve from the list as is).</summary>
    private DestinationState[]? Filter(IReadOnlyList<DestinationState> available, FrozenSet<string> draining)
    {
        var keep = 0;
        for (var i = 0; i < available.Count; i++)
        {
            if (!draining.Contains(available[i].DestinationId))
            {
                keep++;
            }
        }

        // keep == 0: every remaining destination is draining. Serving from them beats a 503; the operator drained the
        // whole cluster, which is what they asked for with a grace, not an outage.
        DestinationState[]? filtered = null;
        if (keep != 0 && keep != available.Count)
        {
            filtered = new DestinationState[keep];
            for (int i = 0, j = 0; i < available.Count; i++)
            {
                if (!draining.Contains(available[i].DestinationId))
                {
                    filtered[j++] = available[i];
                }
            }
        }

        // Shared by concurrent requests: nothing downstream writes to AvailableDestinations' list, only replaces it.
        _filtered.AddOrUpdate(available, new Filtered(draining, filtered));
        return filtered;
    }

    private sealed record Filtered(FrozenSet<string> Draining, DestinationState[]? Destinations);
}
