// Answers 413 before anything is forwarded when the declared Content-Length exceeds the body limit.
// Gap: Kestrel enforces MaxRequestBodySize only when the body is read, which YARP does after it has already sent
// the request head upstream; the upstream then sees a request that is cut off. Runs inside the proxy pipeline,
// after YARP has applied the route's own MaxRequestBodySize to the request's limit feature.
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Hardening;

internal static class DeclaredBodyLimit
{
    public static IReverseProxyApplicationBuilder UseDeclaredBodyLimit(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.Use(static (context, next) =>
        {
            if (context.Request.ContentLength is { } length
                && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { MaxRequestBodySize: { } max }
                && length > max)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                context.Response.Headers.Connection = "close";
                return Task.CompletedTask;
            }

            return next();
        });
        return proxy;
    }
}
