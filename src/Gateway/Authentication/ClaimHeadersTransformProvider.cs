// A route's Authentication block as YARP request transforms: the Authorization header stripped when the route says so,
// and each ClaimHeaders header removed from the client's request, then set from the validated token's claims. The
// removal happens whether or not the request carried a token, so a client can never forge the header.
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Gateway.Authentication;

internal sealed class ClaimHeadersTransformProvider(ILogger<ClaimHeadersTransform> logger) : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        if (RouteAuthenticationOptions.Block.Get(context.Route.Metadata).Own is not { } options)
        {
            return;
        }

        if (!options.ForwardAuthorizationHeader)
        {
            context.AddRequestHeaderRemove("Authorization");
        }

        if (options.ClaimHeaders.Count > 0)
        {
            var headers = new string[options.ClaimHeaders.Count];
            var claims = new string[options.ClaimHeaders.Count];
            var i = 0;
            foreach (var (header, claim) in options.ClaimHeaders)
            {
                headers[i] = header;
                claims[i] = claim;
                i++;
            }

            context.RequestTransforms.Add(new ClaimHeadersTransform(context.Route.RouteId, headers, claims, logger));
        }
    }
}

internal sealed class ClaimHeadersTransform(string route, string[] headers, string[] claims, ILogger<ClaimHeadersTransform> logger) : RequestTransform
{
    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        var proxyHeaders = context.ProxyRequest.Headers;
        var user = context.HttpContext.User;
        var authenticated = user.Identity?.IsAuthenticated == true;
        for (var i = 0; i < headers.Length; i++)
        {
            if (proxyHeaders.NonValidated.Contains(headers[i]))
            {
                proxyHeaders.Remove(headers[i]);
            }

            if (!authenticated)
            {
                continue;
            }

            string? value = null;
            foreach (var identity in user.Identities)
            {
                if (!identity.IsAuthenticated)
                {
                    continue;
                }

                foreach (var claim in identity.FindAll(claims[i]))
                {
                    value = value is null ? claim.Value : value + "," + claim.Value;
                }
            }

            if (value is null)
            {
                continue;
            }

            if (!IsHeaderSafe(value))
            {
                Log.ClaimNotHeaderSafe(logger, route, claims[i], headers[i]);
                continue;
            }

            proxyHeaders.TryAddWithoutValidation(headers[i], value);
        }

        return default;
    }

    private static bool IsHeaderSafe(string value)
    {
        foreach (var c in value)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}
