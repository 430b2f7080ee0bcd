// Gap in YARP: on an upstream failure it sets a status and sends an empty body. Clients get a stable, small JSON
// error instead (ErrorBody's shape); it never names the destination, its address or the exception.
using Gateway.Foundation;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.ErrorResponses;

internal static class UpstreamErrorResponse
{
    private static readonly byte[] Timeout = ErrorBody.Create("upstream_timeout");
    private static readonly byte[] Unavailable = ErrorBody.Create("upstream_unavailable");
    private static readonly byte[] NoDestination = ErrorBody.Create("no_healthy_upstream");

    public static Task WriteAsync(HttpContext context)
    {
        var response = context.Response;
        if (context.Features.Get<IForwarderErrorFeature>() is not { } error || response.HasStarted)
        {
            return Task.CompletedTask;
        }

        if (error.Error == ForwarderError.RequestTimedOut || UpstreamErrors.IsRouteTimeout(context, error))
        {
            return ErrorBody.WriteAsync(response, StatusCodes.Status504GatewayTimeout, Timeout);
        }

        if (error.Error == ForwarderError.NoAvailableDestinations)
        {
            return ErrorBody.WriteAsync(response, response.StatusCode, NoDestination);
        }

        if (response.StatusCode == StatusCodes.Status502BadGateway)
        {
            return ErrorBody.WriteAsync(response, response.StatusCode, Unavailable);
        }

        if (UpstreamErrors.RejectedRequestBody(error) is { } rejected)
        {
            // Kestrel refused the body mid-stream (e.g. a chunked body over MaxRequestBodySize, which no declared length
            // announced): the upstream got a cut-off request, and nothing after it on this connection can be trusted.
            response.Headers.Connection = "close";
            return ErrorBody.WriteAsync(response, rejected.StatusCode, ForRejectedBody(rejected.StatusCode));
        }

        // Other client-side errors (the client left, its connection broke): nobody to tell.
        return Task.CompletedTask;
    }

    internal static byte[] ForRejectedBody(int statusCode) => statusCode switch
    {
        StatusCodes.Status413PayloadTooLarge => ErrorBody.BodyTooLarge,
        StatusCodes.Status408RequestTimeout => ErrorBody.RequestTimeout,
        _ => ErrorBody.BadRequest,
    };
}
