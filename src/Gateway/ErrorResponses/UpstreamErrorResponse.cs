// Gap in YARP: on an upstream failure it sets a status and sends an empty body. Clients get a stable, small JSON
// error instead; it never names the destination, its address or the exception.
using Gateway.Foundation;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.ErrorResponses;

internal static class UpstreamErrorResponse
{
    private static readonly byte[] Timeout = """{"error":"upstream_timeout"}"""u8.ToArray();
    private static readonly byte[] Unavailable = """{"error":"upstream_unavailable"}"""u8.ToArray();
    private static readonly byte[] NoDestination = """{"error":"no_healthy_upstream"}"""u8.ToArray();

    public static Task WriteAsync(HttpContext context)
    {
        var response = context.Response;
        if (context.Features.Get<IForwarderErrorFeature>() is not { } error || response.HasStarted)
        {
            return Task.CompletedTask;
        }

        byte[] body;
        if (error.Error == ForwarderError.RequestTimedOut || UpstreamErrors.IsRouteTimeout(context, error))
        {
            response.StatusCode = StatusCodes.Status504GatewayTimeout;
            body = Timeout;
        }
        else if (error.Error == ForwarderError.NoAvailableDestinations)
        {
            body = NoDestination;
        }
        else if (response.StatusCode == StatusCodes.Status502BadGateway)
        {
            body = Unavailable;
        }
        else
        {
            // Client-side errors (the client left, sent a bad body): nobody to tell, or YARP's status says it.
            return Task.CompletedTask;
        }

        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, 0, body.Length);
    }
}
