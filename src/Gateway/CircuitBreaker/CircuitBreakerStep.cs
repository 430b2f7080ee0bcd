// The per-request part of the breaker: after the route's Split has picked the cluster, before anything else is spent on
// the request (affinity, load balancing, a connection). A request holds its place until the end of its response body.
using Gateway.Foundation;
using Microsoft.AspNetCore.Http.Timeouts;

namespace Gateway.CircuitBreaker;

internal sealed class CircuitBreakerStep(CircuitBreakers breakers, CircuitBreakerMetrics metrics, TimeProvider time, ILogger<CircuitBreakerStep> logger) : IRequestStep
{
    /// <summary>What <c>Retry-After</c> says: a place is usually free again well within a second.</summary>
    public const string RetryAfterSeconds = "1";

    private static readonly byte[] Body = ErrorBody.Create("circuit_open");

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var breaker = breakers.For(context.GetReverseProxyFeature().Cluster);
        if (breaker is null)
        {
            return next(context);
        }

        return breaker.TryEnter(out var waiter) switch
        {
            Admission.Admitted => RequestCompletion.InvokeThen(next, context, breaker, static (_, held) => held.Exit()),
            Admission.Queued => WaitThenForwardAsync(context, next, breaker, waiter!),
            _ => RejectAsync(context, breaker),
        };
    }

    private async Task WaitThenForwardAsync(HttpContext context, RequestDelegate next, ClusterBreaker breaker, ClusterBreaker.Waiter waiter)
    {
        bool admitted;
        using (context.RequestAborted.Register(static state => Cancel((ValueTuple<ClusterBreaker, ClusterBreaker.Waiter>)state!), (breaker, waiter)))
        {
            admitted = await waiter.Task;
        }

        if (!admitted)
        {
            // The client left (nobody to answer), or the route's Timeout fired while it waited: it never got a place.
            if (context.Features.Get<IHttpRequestTimeoutFeature>() is { RequestTimeoutToken.IsCancellationRequested: true })
            {
                await RejectAsync(context, breaker);
            }

            return;
        }

        try
        {
            await next(context);
        }
        finally
        {
            breaker.Exit();
        }
    }

    private static void Cancel((ClusterBreaker Breaker, ClusterBreaker.Waiter Waiter) state) => state.Breaker.Cancel(state.Waiter);

    private Task RejectAsync(HttpContext context, ClusterBreaker breaker)
    {
        metrics.Rejected(breaker.ClusterId);
        var rejected = breaker.TakeRejectionsToReport(time.GetTimestamp(), 10 * time.TimestampFrequency);
        if (rejected > 0)
        {
            Log.CircuitOpen(logger, breaker.ClusterId, rejected, breaker.MaxConcurrentRequests, breaker.MaxPendingRequests);
        }

        context.Response.Headers.RetryAfter = RetryAfterSeconds;
        return ErrorBody.WriteAsync(context.Response, StatusCodes.Status503ServiceUnavailable, Body);
    }
}
