// The YARP pipeline step between session affinity and load balancing: counts pinned/new affinity outcomes and keeps
// new sessions and non-affinitized requests off draining destinations.
using Yarp.ReverseProxy.Model;

namespace Gateway.Affinity;

internal sealed class DrainAwareSelection(DestinationDrain drain, AffinityMetrics metrics)
{
    // RequestDelegate, not Func<Task>: ASP.NET Core's Func<Task> overload allocates a closure per request.
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var feature = context.GetReverseProxyFeature();
        var available = feature.AvailableDestinations;
        var clusterId = feature.Cluster.Config.ClusterId;

        // YARP's affinity step narrows AvailableDestinations to the pinned DestinationState itself (it is its own
        // one-item list) only when the cookie was honoured; every other path leaves a list of destinations.
        var pinned = available is DestinationState;
        if (feature.Cluster.Config.SessionAffinity is { Enabled: true } && !AffinityFailureHandled.IsSet(context.Features))
        {
            metrics.Outcome(clusterId, pinned ? AffinityMetrics.Pinned : AffinityMetrics.New);
        }

        if (pinned || !drain.AnyDraining || !drain.TryGetDraining(clusterId, out var draining))
        {
            return next(context);
        }

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
        if (keep == 0 || keep == available.Count)
        {
            return next(context);
        }

        var filtered = new DestinationState[keep];
        for (int i = 0, j = 0; i < available.Count; i++)
        {
            if (!draining.Contains(available[i].DestinationId))
            {
                filtered[j++] = available[i];
            }
        }

        feature.AvailableDestinations = filtered;
        return next(context);
    }
}
