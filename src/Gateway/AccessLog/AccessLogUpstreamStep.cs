// Last in YARP's proxy pipeline, right before the forwarder: counts each attempt sent upstream (retries pass through it
// again), times the last one, and notes a fired route timeout. Only installed while the access log is on; a request without a line passes through.
using System.Diagnostics;
using Gateway.Foundation;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.AccessLog;

internal sealed class AccessLogUpstreamStep : IRequestStep
{
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Features.Get<IRequestFacts>() is not AccessLogEntry entry)
        {
            return next(context);
        }

        return RequestCompletion.InvokeThen(next, context, (entry, Stopwatch.GetTimestamp()), static (c, s) => AttemptEnded(c, s.entry, s.Item2));
    }

    private static void AttemptEnded(HttpContext context, AccessLogEntry entry, long start)
    {
        // No destination: the forwarder sent nothing (no available destination).
        if (context.GetReverseProxyFeature().ProxiedDestination is not null)
        {
            entry.Attempts++;
            entry.UpstreamTicks = Stopwatch.GetTimestamp() - start;
        }

        // Told apart from a client that left only here: ASP.NET Core's timeout feature is gone once the request ends.
        if (context.Features.Get<IForwarderErrorFeature>() is { } error && UpstreamErrors.IsRouteTimeout(context, error))
        {
            entry.RouteTimedOut = true;
        }
    }
}
