using Microsoft.Extensions.Primitives;

namespace Gateway.OutputCaching;

/// <summary>One policy's settings as the request path reads them: the vary-by lists built once per reload, not per request.</summary>
internal sealed class PolicySettings
{
    public PolicySettings(OutputCachePolicyOptions options)
    {
        Expire = options.Expire;
        QueryKeys = options.VaryByQuery is { Length: > 0 } keys ? new StringValues(keys) : new StringValues("*");
        HeaderNames = options.VaryByHeader is { Length: > 0 } headers ? new StringValues(headers) : StringValues.Empty;
        CacheAuthenticated = options.CacheAuthenticated;
        CacheSetCookie = options.CacheSetCookie;
    }

    public TimeSpan Expire { get; }

    public StringValues QueryKeys { get; }

    public StringValues HeaderNames { get; }

    public bool CacheAuthenticated { get; }

    public bool CacheSetCookie { get; }

    public bool SameAs(PolicySettings other) =>
        Expire == other.Expire && QueryKeys.Equals(other.QueryKeys) && HeaderNames.Equals(other.HeaderNames)
        && CacheAuthenticated == other.CacheAuthenticated && CacheSetCookie == other.CacheSetCookie;
}
