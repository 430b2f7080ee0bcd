// Removes the headers a client nominates in its Connection header (RFC 9110 7.6.1) before forwarding.
// Gap: YARP strips the fixed hop-by-hop set (Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade, Proxy-*) but
// forwards headers the Connection header nominates. It never removes what the gateway itself decides: Host,
// Content-Length (framing) and X-Forwarded-* (set after this by YARP's transforms), and Upgrade (YARP's own logic).
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Gateway.Hardening;

internal sealed class ConnectionHeaderTransformProvider : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    // First, so that transforms which add headers run after the client's nominations are removed.
    public void Apply(TransformBuilderContext context) => context.RequestTransforms.Insert(0, ConnectionHeaderTransform.Instance);
}

internal sealed class ConnectionHeaderTransform : RequestTransform
{
    public static readonly ConnectionHeaderTransform Instance = new();

    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        var connection = context.HttpContext.Request.Headers.Connection;
        for (var i = 0; i < connection.Count; i++)
        {
            var value = connection[i].AsSpan();
            foreach (var range in value.Split(','))
            {
                var token = value[range].Trim(" \t");
                if (token.Length == 0 || IsKept(token))
                {
                    continue;
                }

                var name = token.ToString();
                context.ProxyRequest.Headers.Remove(name);
                context.ProxyRequest.Content?.Headers.Remove(name);
            }
        }

        return default;
    }

    private static bool IsKept(ReadOnlySpan<char> token) =>
        token.Equals("close", StringComparison.OrdinalIgnoreCase)
        || token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
        || token.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)
        || token.Equals("Host", StringComparison.OrdinalIgnoreCase)
        || token.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        || token.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase);
}
