// Answers 413 before anything is forwarded when the declared Content-Length exceeds the body limit.
// Gap: Kestrel enforces MaxRequestBodySize only when the body is read, which YARP does after it has already sent
// the request head upstream; the upstream then sees a request that is cut off. Runs in the proxy pipeline before
// YARP's own limits step, so it resolves the route's MaxRequestBodySize (-1: unlimited) the same way.
using Gateway.Foundation;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Hardening;

internal sealed class DeclaredBodyLimit : IRequestStep
{
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Request.ContentLength is { } length && length > 0 && length > Limit(context))
        {
            // The unread body stays on the connection: close it after the answer.
            context.Response.Headers.Connection = "close";
            return ErrorBody.WriteAsync(context.Response, StatusCodes.Status413PayloadTooLarge, ErrorBody.BodyTooLarge);
        }

        return next(context);
    }

    private static long Limit(HttpContext context)
    {
        var route = context.GetReverseProxyFeature().Route.Config.MaxRequestBodySize;
        if (route is { } routeLimit)
        {
            return routeLimit < 0 ? long.MaxValue : routeLimit;
        }

        return context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize ?? long.MaxValue;
    }
}
