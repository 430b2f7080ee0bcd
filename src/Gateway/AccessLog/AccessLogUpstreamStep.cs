// Last in YARP's proxy pipeline, right before the forwarder: stamps each attempt (retries pass through it again) and
// keeps the route timeout's token. It only stamps and passes on, never awaits: the line is completed by AccessLogStep
// once the response is over. Only installed while the access log is on; a request without a line passes through.
using System.Diagnostics;
using Gateway.Foundation;
using Microsoft.AspNetCore.Http.Timeouts;

namespace Gateway.AccessLog;

internal sealed class AccessLogUpstreamStep : IRequestStep
{
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Features.Get<IRequestFacts>() is AccessLogEntry entry)
        {
            entry.Attempts++;
            entry.LastAttemptStart = Stopwatch.GetTimestamp();
            if (entry.Attempts == 1 && context.Features.Get<IHttpRequestTimeoutFeature>() is { } timeout)
            {
                // The feature is gone once the request ends; its token still tells whether the route's Timeout fired.
                entry.RouteTimeout = timeout.RequestTimeoutToken;
            }
        }

        return next(context);
    }
}
