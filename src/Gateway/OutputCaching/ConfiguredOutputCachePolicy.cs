// One named policy as ASP.NET Core's output-cache middleware sees it; the route's OutputCachePolicy reaches it through
// YARP's endpoint metadata. It reads the policy's current settings on every request, so a reload changes them in place.
// Gap: ASP.NET Core's policies are built in code (OutputCachePolicyBuilder) and fixed once built; ours come from config.
// Its default policy is replaced, not wrapped: authenticated requests and Set-Cookie responses are opt-in per policy,
// upstream "Cache-Control: no-store / no-cache / private" and a Vary the key cannot honour keep a response out (the
// default policy ignores both), and entries are
// kept apart by the encodings the client accepts (AcceptEncodingKey).
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Model;

namespace Gateway.OutputCaching;

internal sealed class ConfiguredOutputCachePolicy(string name, OutputCachePolicies policies, OutputCacheMetrics metrics) : IOutputCachePolicy
{
    public ValueTask CacheRequestAsync(OutputCacheContext context, CancellationToken cancellationToken)
    {
        var settings = policies.Get(name);
        var httpContext = context.HttpContext;
        var request = httpContext.Request;
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            || (!settings.CacheAuthenticated && IsAuthenticated(httpContext)))
        {
            // EnableOutputCaching stays false: the middleware neither looks up nor stores.
            metrics.Request(RouteId(httpContext), OutputCacheMetrics.Bypass);
            return ValueTask.CompletedTask;
        }

        context.EnableOutputCaching = true;
        context.AllowCacheLookup = true;
        context.AllowCacheStorage = true;
        context.AllowLocking = true; // concurrent misses for one key wait for the first response instead of all going upstream
        context.ResponseExpirationTimeSpan = settings.Expire;
        context.CacheVaryByRules.VaryByHost = true;
        context.CacheVaryByRules.QueryKeys = settings.QueryKeys;
        context.CacheVaryByRules.HeaderNames = settings.HeaderNames;
        context.CacheVaryByRules.CacheKeyPrefix = AcceptEncodingKey.For(request.Headers.AcceptEncoding);
        return ValueTask.CompletedTask;
    }

    public ValueTask ServeFromCacheAsync(OutputCacheContext context, CancellationToken cancellationToken)
    {
        metrics.Request(RouteId(context.HttpContext), OutputCacheMetrics.Hit);
        return ValueTask.CompletedTask;
    }

    /// <summary>After the upstream answered a request the cache could not serve: whether the response may be stored.</summary>
    public ValueTask ServeResponseAsync(OutputCacheContext context, CancellationToken cancellationToken)
    {
        var settings = policies.Get(name);
        var response = context.HttpContext.Response;
        var route = RouteId(context.HttpContext);
        metrics.Request(route, OutputCacheMetrics.Miss);
        var headers = response.Headers;
        if (response.StatusCode != StatusCodes.Status200OK
            || (!settings.CacheSetCookie && headers.ContainsKey(HeaderNames.SetCookie))
            || HeaderUtilities.ContainsCacheDirective(headers.CacheControl, CacheControlHeaderValue.NoStoreString)
            || HeaderUtilities.ContainsCacheDirective(headers.CacheControl, CacheControlHeaderValue.NoCacheString)
            || HeaderUtilities.ContainsCacheDirective(headers.CacheControl, CacheControlHeaderValue.PrivateString)
            || !VariesOnlyByKnown(headers.Vary, settings.HeaderNames))
        {
            context.AllowCacheStorage = false;
        }
        else if (context.AllowCacheStorage)
        {
            metrics.Stored(route);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The upstream's <c>Vary</c> names only headers the key already holds (the policy's VaryByHeader, Accept-Encoding).
    /// <c>Vary: Cookie</c>, <c>Vary: *</c> or any other header means the answer depends on something the key does not
    /// hold: storing it would hand one client's answer to another.
    /// </summary>
    internal static bool VariesOnlyByKnown(StringValues vary, StringValues varyByHeader)
    {
        foreach (var value in vary)
        {
            var rest = value.AsSpan();
            while (!rest.IsEmpty)
            {
                var comma = rest.IndexOf(',');
                var name = (comma < 0 ? rest : rest[..comma]).Trim();
                rest = comma < 0 ? [] : rest[(comma + 1)..];
                if (!name.IsEmpty && !name.Equals(HeaderNames.AcceptEncoding, StringComparison.OrdinalIgnoreCase) && !Contains(varyByHeader, name))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool Contains(StringValues names, ReadOnlySpan<char> name)
    {
        foreach (var candidate in names)
        {
            if (name.Equals(candidate, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    // The header alone counts, valid or not: a request the authentication step has not (or not yet) judged still
    // carries someone's credentials, and its response may be theirs alone.
    private static bool IsAuthenticated(HttpContext context) =>
        context.Request.Headers.ContainsKey(HeaderNames.Authorization) || context.User.Identity?.IsAuthenticated == true;

    internal static string RouteId(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.RouteId ?? "unknown";
}
