// Counts a request against its cluster's pool from routing to the end of the response body, so a retired pool is
// disposed only once the requests that picked it have finished.
using Gateway.Foundation;

namespace Gateway.Pooling;

internal sealed class PoolTrackingStep : IRequestStep
{
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (context.GetReverseProxyFeature().Cluster.HttpClient is not ClusterInvoker invoker)
        {
            return next(context);
        }

        invoker.Enter();
        return RequestCompletion.InvokeThen(next, context, invoker, static (_, entered) => entered.Exit());
    }
}
