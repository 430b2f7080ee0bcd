// Classifies YARP's IForwarderErrorFeature for retries, ejection and the client-facing error body.
using System.Net.Http;
using Microsoft.AspNetCore.Http;
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

    /// <summary>
    /// Kestrel's refusal of the request body while YARP was streaming it upstream (over MaxRequestBodySize, a malformed
    /// chunk, slower than MinRequestBodyDataRate), or null. YARP reports it as RequestBodyClient and takes its status
    /// from this exception; the client is still there to be told why.
    /// </summary>
    public static BadHttpRequestException? RejectedRequestBody(IForwarderErrorFeature error) =>
        error.Error == ForwarderError.RequestBodyClient ? FindBadRequest(error.Exception, depth: 0) : null;

    // YARP wraps it: an AggregateException of the copy's failure and HttpClient's, each with the exception inside.
    private static BadHttpRequestException? FindBadRequest(Exception? exception, int depth)
    {
        if (exception is null || depth > 8)
        {
            return null;
        }

        if (exception is BadHttpRequestException found)
        {
            return found;
        }

        if (exception is AggregateException aggregate)
        {
            foreach (var inner in aggregate.InnerExceptions)
            {
                if (FindBadRequest(inner, depth + 1) is { } nested)
                {
                    return nested;
                }
            }

            return null;
        }

        return FindBadRequest(exception.InnerException, depth + 1);
    }
}
