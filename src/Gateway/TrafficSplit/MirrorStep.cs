// Gap in YARP: no request mirroring (dotnet/yarp#105). A share of a route's requests is copied to a shadow cluster,
// fire-and-forget: the copy starts beside the real request and nothing waits for it; its response is discarded.
using System.Buffers;
using Yarp.ReverseProxy;

namespace Gateway.TrafficSplit;

internal sealed class MirrorStep(MirrorSender sender, TrafficMetrics metrics) : Foundation.IRequestStep
{
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var route = context.GetReverseProxyFeature().Route.Config;
        if (MirrorOptions.Block.Get(route.Metadata).Own is not { } options
            || (options.Percent < 100 && Random.Shared.NextDouble() * 100 >= options.Percent))
        {
            await next(context);
            return;
        }

        var shadow = options.ClusterId!;
        if (!sender.TryEnter(options))
        {
            metrics.Mirror(route.RouteId, shadow, TrafficMetrics.Dropped);
            await next(context);
            return;
        }

        byte[]? body;
        try
        {
            body = await ReadBodyAsync(context.Request, options.MaxBodyBytes);
        }
        catch
        {
            sender.Exit(options);
            throw;
        }

        if (body is null)
        {
            sender.Exit(options);
            metrics.Mirror(route.RouteId, shadow, TrafficMetrics.BodyTooLarge);
        }
        else
        {
            sender.Send(context, route.RouteId, options, body); // not awaited: the client never waits for the shadow
        }

        await next(context);
    }

    /// <summary>
    /// The body for the copy (empty when there is none), or null when it is larger than <paramref name="max"/>. The
    /// request is rewound, so the real forward reads the whole body again.
    /// </summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int max)
    {
        if (request.ContentLength is { } declared)
        {
            if (declared > max)
            {
                return null;
            }

            if (declared == 0)
            {
                return [];
            }
        }
        else if (HasNoBody(request))
        {
            return [];
        }

        request.EnableBuffering(bufferThreshold: Math.Min(max + 1, 64 * 1024));
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(max + 1, 64 * 1024));
        try
        {
            using var copy = new MemoryStream();
            int read;
            while ((read = await request.Body.ReadAsync(buffer, request.HttpContext.RequestAborted)) > 0)
            {
                copy.Write(buffer, 0, read);
                if (copy.Length > max)
                {
                    break; // too large to mirror; the real request still gets all of it
                }
            }

            request.Body.Position = 0;
            return copy.Length > max ? null : copy.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool HasNoBody(HttpRequest request) =>
        request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false };
}
