// Removes what YARP would copy upstream but a proxy must not forward.
// Gaps: YARP strips the fixed hop-by-hop set (Connection, Keep-Alive, TE except "trailers", Transfer-Encoding,
// Upgrade, Proxy-*) but forwards (1) headers the client's Connection header nominates (RFC 9110 7.6.1 says remove
// them), (2) the hop-by-hop Trailer header, and (3) X-Original-For/Proto/Host/Prefix, which ASP.NET Core's
// forwarded-headers middleware adds (or a client forges) and an upstream might trust. Nominations never remove what
// the gateway decides: Host, Content-Length (framing), X-Forwarded-* (YARP sets them after this) and Upgrade.
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Gateway.Hardening;

internal sealed class RequestHeaderCleanupProvider : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    // First, so that transforms which add headers run after the client's nominations are removed.
    public void Apply(TransformBuilderContext context) => context.RequestTransforms.Insert(0, RequestHeaderCleanup.Instance);
}

internal sealed class RequestHeaderCleanup : RequestTransform
{
    public static readonly RequestHeaderCleanup Instance = new();

    private static readonly string[] AlwaysRemoved = ["Trailer", "X-Original-For", "X-Original-Proto", "X-Original-Host", "X-Original-Prefix"];

    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        var headers = context.ProxyRequest.Headers;
        for (var i = 0; i < AlwaysRemoved.Length; i++)
        {
            Remove(headers, AlwaysRemoved[i]);
        }

        // Limit: when the header also carries close, keep-alive or upgrade, Kestrel keeps only that option while parsing,
        // so those nominations never reach us and the nominated headers are forwarded (as plain YARP does).
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
                Remove(context.ProxyRequest.Headers, name);
                if (context.ProxyRequest.Content is { } content)
                {
                    Remove(content.Headers, name);
                }
            }
        }

        return default;
    }

    // Remove throws for a name that is not a valid header name or belongs to the other collection (a client
    // controls the token); the non-validating view answers false for those instead.
    private static void Remove(System.Net.Http.Headers.HttpHeaders headers, string name)
    {
        if (headers.NonValidated.Contains(name))
        {
            headers.Remove(name);
        }
    }

    private static bool IsKept(ReadOnlySpan<char> token) =>
        token.Equals("close", StringComparison.OrdinalIgnoreCase)
        || token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
        || token.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)
        || token.Equals("Host", StringComparison.OrdinalIgnoreCase)
        || token.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        || token.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase);
}
