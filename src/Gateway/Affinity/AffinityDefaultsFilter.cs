// Safe defaults for YARP's per-cluster SessionAffinity block, applied to every config YARP accepts (start and reload).
// Gap in YARP: its defaults are the unencrypted HashCookie policy, SameSite unspecified, never Secure, and a cookie name
// the user must always set; we fill in what the config leaves unset and keep every value the config does set.
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.SessionAffinity;

namespace Gateway.Affinity;

internal sealed class AffinityDefaultsFilter : IProxyConfigFilter
{
    /// <summary>Default cookie name prefix; the cluster id follows so two clusters on one host never share a cookie.</summary>
    public const string CookieNamePrefix = ".Gateway.Affinity.";

    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel)
    {
        if (cluster.SessionAffinity is not { Enabled: true } affinity)
        {
            return ValueTask.FromResult(cluster);
        }

        var cookie = affinity.Cookie ?? new SessionAffinityCookieConfig();
        var withDefaults = affinity with
        {
            Policy = string.IsNullOrEmpty(affinity.Policy) ? SessionAffinityConstants.Policies.Cookie : affinity.Policy,
            FailurePolicy = string.IsNullOrEmpty(affinity.FailurePolicy) ? SessionAffinityConstants.FailurePolicies.Redistribute : affinity.FailurePolicy,
            AffinityKeyName = string.IsNullOrEmpty(affinity.AffinityKeyName) ? DefaultCookieName(cluster.ClusterId) : affinity.AffinityKeyName,
            Cookie = cookie with
            {
                HttpOnly = cookie.HttpOnly ?? true,
                SameSite = cookie.SameSite ?? SameSiteMode.Lax,
                SecurePolicy = cookie.SecurePolicy ?? CookieSecurePolicy.SameAsRequest,
                Path = cookie.Path ?? "/",
            },
        };
        return ValueTask.FromResult(cluster with { SessionAffinity = withDefaults });
    }

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel) =>
        ValueTask.FromResult(route);

    /// <summary><c>.Gateway.Affinity.&lt;cluster&gt;</c>, with characters a cookie name may not hold replaced by '_'.</summary>
    public static string DefaultCookieName(string clusterId) => string.Create(CookieNamePrefix.Length + clusterId.Length, clusterId, static (span, id) =>
    {
        CookieNamePrefix.AsSpan().CopyTo(span);
        for (var i = 0; i < id.Length; i++)
        {
            var c = id[i];
            span[CookieNamePrefix.Length + i] = char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_';
        }
    });
}
