// Wraps the upstream stream of a WebSocket upgrade, a text/event-stream response or a gRPC response over HTTP/2, so
// the drain and pool retirement can end it cleanly (Foundation/OpenStreams). A response transform is the one place
// that sees the upstream response before YARP reads its body; every other response passes through untouched.
using System.Net;
using Gateway.Foundation;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Gateway.Streams;

internal sealed class OpenStreamTransformProvider(OpenStreams registry) : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        context.ResponseTransforms.Add(new OpenStreamTransform(registry));
        context.ResponseTrailersTransforms.Add(GrpcClosedTrailers.Instance);
    }
}

internal sealed class OpenStreamTransform(OpenStreams registry) : ResponseTransform
{
    public override ValueTask ApplyAsync(ResponseTransformContext context)
    {
        var response = context.ProxyResponse;
        if (response is null)
        {
            return ValueTask.CompletedTask;
        }

        if (response.StatusCode == HttpStatusCode.SwitchingProtocols)
        {
            if (IsWebSocket(response))
            {
                var http = context.HttpContext;
                response.Content = new WrappedContent(response.Content, inner => new WebSocketTunnelStream(inner, http, registry).Open());
            }
        }
        else if (response.Content.Headers.ContentType?.MediaType is { } mediaType)
        {
            var http = context.HttpContext;
            if (mediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase))
            {
                response.Content = new WrappedContent(response.Content, inner => new EventStreamStream(inner, http, registry).Open());
            }
            else if (IsGrpc(mediaType) && HttpProtocol.IsHttp2(http.Request.Protocol))
            {
                response.Content = new WrappedContent(response.Content, inner =>
                {
                    var call = new GrpcCallStream(inner, http, registry);
                    http.Features.Set(call);
                    return call.Open();
                });
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>application/grpc and its +proto/+json forms; not gRPC-Web, whose status travels in the body.</summary>
    internal static bool IsGrpc(string mediaType) =>
        mediaType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
        && (mediaType.Length == "application/grpc".Length || mediaType["application/grpc".Length] == '+');

    private static bool IsWebSocket(HttpResponseMessage response)
    {
        foreach (var product in response.Headers.Upgrade)
        {
            if (product.Name.Equals("websocket", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The upstream content with its read stream wrapped; YARP reads the body through it.</summary>
    private sealed class WrappedContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly Func<Stream, Stream> _wrap;

        public WrappedContent(HttpContent inner, Func<Stream, Stream> wrap)
        {
            _inner = inner;
            _wrap = wrap;
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) =>
            _wrap(await _inner.ReadAsStreamAsync(cancellationToken));

        protected override async Task<Stream> CreateContentReadStreamAsync() => _wrap(await _inner.ReadAsStreamAsync());

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => _inner.CopyToAsync(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>
/// The status of a gRPC call the gateway closed: UNAVAILABLE (14) in the trailers, unless the upstream's own status
/// arrived first. Every other response: one feature lookup.
/// </summary>
internal sealed class GrpcClosedTrailers : ResponseTrailersTransform
{
    public static readonly GrpcClosedTrailers Instance = new();

    public const string Message = "The gateway closed the call (shutting down or retiring its connection pool); retry it";

    public override ValueTask ApplyAsync(ResponseTrailersTransformContext context)
    {
        if (context.HttpContext.Features.Get<GrpcCallStream>() is { ClosedByGateway: true }
            && context.HttpContext.Features.Get<IHttpResponseTrailersFeature>()?.Trailers is { IsReadOnly: false } trailers
            && !trailers.ContainsKey("grpc-status"))
        {
            trailers["grpc-status"] = "14";
            trailers["grpc-message"] = Message;
        }

        return ValueTask.CompletedTask;
    }
}
