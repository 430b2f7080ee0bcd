// Decorates each of YARP's affinity failure policies (Redistribute, Return503Error, and any the user adds) to count
// outcomes, to treat an unreadable cookie as no cookie, and to give a 503 the gateway's JSON error body.
// Gaps in YARP: Return503Error answers 503 to a cookie it cannot decrypt (garbage, truncated, forged, or issued with
// another key ring), so a client could turn its own cookie into an error; here such a request is re-pinned instead.
// Its 503 also has an empty body.
using Gateway.Foundation;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.SessionAffinity;

namespace Gateway.Affinity;

internal sealed class ObservedAffinityFailurePolicy(IAffinityFailurePolicy inner, AffinityMetrics metrics, ILogger<ObservedAffinityFailurePolicy> logger)
    : IAffinityFailurePolicy
{
    private static readonly Task<bool> Continue = Task.FromResult(true);
    private static readonly byte[] PinnedDestinationUnavailable = ErrorBody.Create("affinity_destination_unavailable");

    public string Name => inner.Name;

    public Task<bool> Handle(HttpContext context, ClusterState cluster, AffinityStatus affinityStatus)
    {
        // Tells the drain-aware step that this request's outcome is already counted.
        context.Features.Set(AffinityFailureHandled.Instance);
        if (affinityStatus == AffinityStatus.AffinityKeyExtractionFailed)
        {
            Log.UnreadableAffinityCookie(logger, cluster.ClusterId);
            metrics.Outcome(cluster.ClusterId, AffinityMetrics.Redistributed);
            Tell(context, AffinityMetrics.Redistributed);
            return Continue;
        }

        var handled = inner.Handle(context, cluster, affinityStatus);
        if (handled.IsCompletedSuccessfully && handled.Result)
        {
            Record(context, cluster.ClusterId, keepProcessing: true);
            return handled;
        }

        return AwaitAndRecord(handled, context, cluster.ClusterId);
    }

    private async Task<bool> AwaitAndRecord(Task<bool> handled, HttpContext context, string clusterId)
    {
        var keepProcessing = await handled;
        Record(context, clusterId, keepProcessing);
        if (!keepProcessing && context.Response.StatusCode == StatusCodes.Status503ServiceUnavailable)
        {
            // The policy stopped the pipeline with a bare status (YARP's Return503Error): nothing else writes a body.
            await ErrorBody.WriteAsync(context.Response, StatusCodes.Status503ServiceUnavailable, PinnedDestinationUnavailable);
        }

        return keepProcessing;
    }

    private void Record(HttpContext context, string clusterId, bool keepProcessing)
    {
        Log.PinnedDestinationUnavailable(logger, clusterId, inner.Name);
        var outcome = keepProcessing ? AffinityMetrics.Redistributed : AffinityMetrics.Failed;
        metrics.Outcome(clusterId, outcome);
        Tell(context, outcome);
    }

    /// <summary>The access log's affinity field, when it is on (Foundation's request-facts seam).</summary>
    private static void Tell(HttpContext context, string outcome)
    {
        if (context.Features.Get<IRequestFacts>() is { } facts)
        {
            facts.AffinityOutcome = outcome;
        }
    }
}

/// <summary>Request feature: an affinity failure policy ran (its outcome is counted there).</summary>
internal sealed class AffinityFailureHandled
{
    public static readonly AffinityFailureHandled Instance = new();

    public static bool IsSet(IFeatureCollection features) => features.Get<AffinityFailureHandled>() is not null;
}
