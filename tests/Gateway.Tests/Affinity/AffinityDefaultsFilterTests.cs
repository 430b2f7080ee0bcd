using Gateway.Affinity;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Tests.Affinity;

public sealed class AffinityDefaultsFilterTests
{
    private static ClusterConfig Configure(ClusterConfig cluster) =>
        new AffinityDefaultsFilter().ConfigureClusterAsync(cluster, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    [Fact]
    public void EnabledAffinity_WithNothingElseSet_GetsSafeCookieDefaults()
    {
        var result = Configure(new ClusterConfig { ClusterId = "orders", SessionAffinity = new SessionAffinityConfig { Enabled = true } });
        var affinity = result.SessionAffinity!;
        Assert.Equal("Cookie", affinity.Policy);
        Assert.Equal("Redistribute", affinity.FailurePolicy);
        Assert.Equal(".Gateway.Affinity.orders", affinity.AffinityKeyName);
        Assert.True(affinity.Cookie!.HttpOnly);
        Assert.Equal(SameSiteMode.Lax, affinity.Cookie.SameSite);
        Assert.Equal(CookieSecurePolicy.SameAsRequest, affinity.Cookie.SecurePolicy);
        Assert.Equal("/", affinity.Cookie.Path);
        Assert.Null(affinity.Cookie.MaxAge);
        Assert.Null(affinity.Cookie.Domain);
    }

    [Fact]
    public void ValuesTheConfigSets_AreKept()
    {
        var cookie = new SessionAffinityCookieConfig
        {
            HttpOnly = false, SameSite = SameSiteMode.Strict, SecurePolicy = CookieSecurePolicy.Always, Path = "/app", Domain = "example.com", MaxAge = TimeSpan.FromHours(1),
        };
        var result = Configure(new ClusterConfig
        {
            ClusterId = "c",
            SessionAffinity = new SessionAffinityConfig { Enabled = true, Policy = "HashCookie", FailurePolicy = "Return503Error", AffinityKeyName = "pin", Cookie = cookie },
        });
        Assert.Equal(new SessionAffinityConfig { Enabled = true, Policy = "HashCookie", FailurePolicy = "Return503Error", AffinityKeyName = "pin", Cookie = cookie }, result.SessionAffinity);
    }

    [Fact]
    public void DisabledOrAbsentAffinity_IsLeftAlone()
    {
        var none = new ClusterConfig { ClusterId = "c" };
        var off = new ClusterConfig { ClusterId = "c", SessionAffinity = new SessionAffinityConfig { Enabled = false } };
        Assert.Same(none, Configure(none));
        Assert.Same(off, Configure(off));
    }

    [Fact]
    public void DefaultCookieName_ReplacesCharactersACookieNameCannotHold()
    {
        Assert.Equal(".Gateway.Affinity.my_cluster_v2", AffinityDefaultsFilter.DefaultCookieName("my cluster;v2"));
    }
}
