// Reads a route's whole request body before anything is sent upstream, when its RequestBuffering block is on.
// Gap: YARP streams the body while it forwards (the upstream gets the request head at once), so a malformed,
// truncated or slow body reaches the upstream as a half request and a reset. ASP.NET Core's EnableBuffering does the
// buffering (memory up to 64 KiB, then a temp file); this step reads the body through it, refuses what fails
// (400 / 413, nothing forwarded), and hands YARP the buffered body with its Content-Length.
using System.Buffers;
using Gateway.Foundation;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Gateway.RequestBuffering;

internal sealed class RequestBufferingStep(RequestBufferingMetrics metrics, ILogger<RequestBufferingStep> logger) : IRequestStep
{
    private const int InMemoryBytes = 64 * 1024;
    private const int ReadChunk = 16 * 1024;

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var route = context.GetReverseProxyFeature().Route.Config;
        if (RequestBufferingOptions.Block.Get(route.Metadata).Own is not { Enabled: true } options || HasNoBody(context))
        {
            return next(context);
        }

        return BufferThenForwardAsync(context, next, route.RouteId, options.MaxBytes);
    }

    private async Task BufferThenForwardAsync(HttpContext context, RequestDelegate next, string routeId, long maxBytes)
    {
        var request = context.Request;
        if (request.ContentLength > maxBytes)
        {
            await RefuseAsync(context, routeId, RequestBufferingMetrics.TooLarge, StatusCodes.Status413PayloadTooLarge, ErrorBody.BodyTooLarge, "declared Content-Length over MaxBytes");
            return;
        }

        request.EnableBuffering(InMemoryBytes, bufferLimit: maxBytes);
        long length = 0;
        var chunk = ArrayPool<byte>.Shared.Rent(ReadChunk);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                length += read;
            }
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's verdict on the framing: bad chunked encoding, a body shorter than its Content-Length, a body
            // over the route's MaxRequestBodySize (413), or one sent too slowly (MinRequestBodyDataRate).
            var tooLarge = ex.StatusCode == StatusCodes.Status413PayloadTooLarge;
            await RefuseAsync(context, routeId, tooLarge ? RequestBufferingMetrics.TooLarge : RequestBufferingMetrics.BadBody,
                ex.StatusCode, tooLarge ? ErrorBody.BodyTooLarge : ErrorBody.BadRequest, ex.Message);
            return;
        }
        catch (Exception ex) when (ex is ConnectionResetException or OperationCanceledException || context.RequestAborted.IsCancellationRequested)
        {
            metrics.Record(routeId, RequestBufferingMetrics.ClientAborted);
            Log.BodyRefused(logger, routeId, RequestBufferingMetrics.ClientAborted, ex.Message);
            return; // the client is gone: nothing to answer, nothing forwarded
        }
        catch (IOException ex)
        {
            // EnableBuffering's own refusal past bufferLimit (a chunked body longer than MaxBytes).
            await RefuseAsync(context, routeId, RequestBufferingMetrics.TooLarge, StatusCodes.Status413PayloadTooLarge, ErrorBody.BodyTooLarge, ex.Message);
            return;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        metrics.Record(routeId, RequestBufferingMetrics.Buffered);
        request.Body.Position = 0;

        // Forwarded with its length, whatever framing the client used (chunked, or HTTP/2 frames without a length).
        request.Headers.Remove(HeaderNames.TransferEncoding);
        request.ContentLength = length;
        await next(context);
    }

    private async Task RefuseAsync(HttpContext context, string routeId, string result, int status, byte[] body, string reason)
    {
        metrics.Record(routeId, result);
        Log.BodyRefused(logger, routeId, result, reason);
        if (!context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted)
        {
            // What is left of the body stays unread on the connection: close it after the answer.
            context.Response.Headers.Connection = "close";
            await ErrorBody.WriteAsync(context.Response, status, body);
        }
    }

    private static bool HasNoBody(HttpContext context) =>
        context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false } || context.Request.ContentLength == 0;
}
