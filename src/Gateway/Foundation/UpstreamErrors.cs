// Classifies YARP's IForwarderErrorFeature for retries, ejection and the client-facing error body.
using System.Net.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Foundation;

internal static class UpstreamErrors
{
    /// <summary>Errors that are the destination's fault (as YARP's TransportFailureRate policy counts them).</summary>
    public static bool IsDestinationFailure(HttpContext context, IForwarderErrorFeature? error)
    {
        if (error is null || context.RequestAborted.IsCancellationRequested)
        {
            // No error, or the client left / the route timeout fired: not evidence against the destination.
            return false;
        }

        return error.Error is ForwarderError.Request
            or ForwarderError.RequestTimedOut
            or ForwarderError.RequestBodyDestination
            or ForwarderError.ResponseBodyDestination
            or ForwarderError.UpgradeRequestDestination
            or ForwarderError.UpgradeResponseDestination;
    }

    /// <summary>
    /// YARP reports a fired route timeout (ASP.NET Core's request timeouts cancel RequestAborted) as RequestCanceled
    /// with a 400, as if the client had left; the timeout feature tells the two apart.
    /// </summary>
    public static bool IsRouteTimeout(HttpContext context, IForwarderErrorFeature error) =>
        error.Error is ForwarderError.RequestCanceled
        && context.Features.Get<IHttpRequestTimeoutFeature>() is { } timeout
        && timeout.RequestTimeoutToken.IsCancellationRequested;

    /// <summary>The connection to the destination could not be established: not one byte of the request left.</summary>
    public static bool NothingWasSent(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            // SocketsHttpHandler tags every failure while connecting (refused, reset or unreachable during connect, DNS, TLS).
            if (current is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError })
            {
                return true;
            }
        }

        return false;
    }
}
