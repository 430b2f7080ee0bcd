// Right after YARP's session affinity step: counts pinned (cookie honoured) and new (no cookie) outcomes. Failures
// (redistributed, failed) are counted by ObservedAffinityFailurePolicy, which marks the request so it is not counted twice.
// Both also tell a reader of the request's facts (the access log), when one is on.
using Gateway.Foundation;
using Yarp.ReverseProxy.Model;

namespace Gateway.Affinity;

internal sealed class AffinityOutcomeStep(AffinityMetrics metrics) : IRequestStep
{
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var feature = context.GetReverseProxyFeature();
        if (feature.Cluster.Config.SessionAffinity is { Enabled: true } && !AffinityFailureHandled.IsSet(context.Features))
        {
            // YARP narrows AvailableDestinations to the pinned DestinationState itself (its own one-item list) only when
            // the cookie was honoured.
            var outcome = feature.AvailableDestinations is DestinationState ? AffinityMetrics.Pinned : AffinityMetrics.New;
            metrics.Outcome(feature.Cluster.Config.ClusterId, outcome);
            if (context.Features.Get<IRequestFacts>() is { } facts)
            {
                facts.AffinityOutcome = outcome;
            }
        }

        return next(context);
    }
}
