// Wraps the upstream stream of a WebSocket upgrade or a text/event-stream response, so the drain and pool
// retirement can end it cleanly (Foundation/OpenStreams). A response transform is the one place that sees the
// upstream response before YARP reads its body; every other response passes through untouched.
using System.Net;
using Gateway.Foundation;
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

    public void Apply(TransformBuilderContext context) => context.ResponseTransforms.Add(new OpenStreamTransform(registry));
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
        else if (response.Content.Headers.ContentType?.MediaType is { } mediaType
            && mediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            var http = context.HttpContext;
            response.Content = new WrappedContent(response.Content, inner => new EventStreamStream(inner, http, registry).Open());
        }

        return ValueTask.CompletedTask;
    }

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
