using System.Text.Json.Nodes;
using Gateway.OutputCaching;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Tests.OutputCaching;

public sealed class ConfiguredOutputCachePolicyTests
{
    private static JsonObject Config(JsonObject policy) => TestGateway.Config()
        .Set("ReverseProxy:Routes:all:OutputCachePolicy", "p")
        .Set("Gateway:OutputCache:Policies:p", policy);

    private static async Task<OutputCacheContext> RequestAsync(IOutputCachePolicy policy, Action<HttpContext>? configure = null)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = "GET";
        configure?.Invoke(http);
        var context = new OutputCacheContext { HttpContext = http };
        await policy.CacheRequestAsync(context, CancellationToken.None);
        return context;
    }

    private static async Task<bool> StoredAsync(IOutputCachePolicy policy, Action<HttpResponse> respond)
    {
        var context = await RequestAsync(policy);
        Assert.True(context.AllowCacheStorage);
        respond(context.HttpContext.Response);
        await policy.ServeResponseAsync(context, CancellationToken.None);
        return context.AllowCacheStorage;
    }

    [Fact]
    public async Task AnAuthorizationHeader_OrAnotherMethod_Bypasses_UnlessThePolicyCachesAuthenticatedRequests()
    {
        await using var gateway = TestGateway.Start(Config(new JsonObject { ["Expire"] = "00:01:00" }));
        var policy = ActivatorUtilities.CreateInstance<ConfiguredOutputCachePolicy>(gateway.Services, "p");

        Assert.True((await RequestAsync(policy)).EnableOutputCaching);
        Assert.False((await RequestAsync(policy, h => h.Request.Headers.Authorization = "Bearer x")).EnableOutputCaching);
        Assert.False((await RequestAsync(policy, h => h.Request.Headers.Authorization = string.Empty)).EnableOutputCaching);
        Assert.False((await RequestAsync(policy, h => h.Request.Method = "POST")).EnableOutputCaching);

        gateway.Reload(Config(new JsonObject { ["CacheAuthenticated"] = true }));
        Assert.True((await RequestAsync(policy, h => h.Request.Headers.Authorization = "Bearer x")).EnableOutputCaching);
    }

    [Fact]
    public async Task SetCookie_NoStore_Private_AVaryTheKeyLacks_AndNon200Responses_AreNotStored()
    {
        await using var gateway = TestGateway.Start(Config(new JsonObject { ["Expire"] = "00:01:00" }));
        var policy = ActivatorUtilities.CreateInstance<ConfiguredOutputCachePolicy>(gateway.Services, "p");

        Assert.True(await StoredAsync(policy, r => r.Headers.CacheControl = "public, max-age=60"));
        Assert.False(await StoredAsync(policy, r => r.Headers.SetCookie = "a=b"));
        Assert.False(await StoredAsync(policy, r => r.Headers.CacheControl = "no-store"));
        Assert.False(await StoredAsync(policy, r => r.Headers.CacheControl = "max-age=0, no-cache"));
        Assert.False(await StoredAsync(policy, r => r.Headers.CacheControl = "private"));
        Assert.False(await StoredAsync(policy, r => r.StatusCode = 404));
        Assert.True(await StoredAsync(policy, r => r.Headers.Vary = "Accept-Encoding"));
        Assert.False(await StoredAsync(policy, r => r.Headers.Vary = "Accept-Encoding, Cookie"));
        Assert.False(await StoredAsync(policy, r => r.Headers.Vary = "*"));

        gateway.Reload(Config(new JsonObject { ["CacheSetCookie"] = true, ["VaryByHeader"] = new JsonArray("accept-language") }));
        Assert.True(await StoredAsync(policy, r => r.Headers.SetCookie = "a=b"));
        Assert.True(await StoredAsync(policy, r => r.Headers.Vary = "Accept-Language,Accept-Encoding"));
    }

    [Fact]
    public async Task TheSettings_AreTheCurrentConfigs_VaryByQueryDefaultsToEveryKey()
    {
        await using var gateway = TestGateway.Start(Config(new JsonObject { ["Expire"] = "00:01:00" }));
        var policy = ActivatorUtilities.CreateInstance<ConfiguredOutputCachePolicy>(gateway.Services, "p");

        var before = await RequestAsync(policy);
        Assert.Equal(TimeSpan.FromMinutes(1), before.ResponseExpirationTimeSpan);
        Assert.Equal("*", before.CacheVaryByRules.QueryKeys.ToString());
        Assert.True(before.CacheVaryByRules.VaryByHost);

        gateway.Reload(Config(new JsonObject { ["Expire"] = "00:00:05", ["VaryByQuery"] = new JsonArray("id"), ["VaryByHeader"] = new JsonArray("Accept-Language") }));
        var after = await RequestAsync(policy);
        Assert.Equal(TimeSpan.FromSeconds(5), after.ResponseExpirationTimeSpan);
        Assert.Equal("id", after.CacheVaryByRules.QueryKeys.ToString());
        Assert.Equal("Accept-Language", after.CacheVaryByRules.HeaderNames.ToString());
    }

    [Fact]
    public void Validator_NamesEveryBadValueByItsKeyPath()
    {
        var options = new OutputCachingOptions
        {
            Policies =
            {
                ["p"] = new OutputCachePolicyOptions { Expire = TimeSpan.Zero, VaryByQuery = ["ok", " "], VaryByHeader = ["Bad:Name"] },
            },
        };

        var failures = new OutputCachingOptionsValidator().Validate(null, options).Failures!.ToList();

        Assert.Contains(failures, f => f.StartsWith("Gateway:OutputCache:Policies:p:Expire: '00:00:00'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Gateway:OutputCache:Policies:p:VaryByQuery:1: ' '", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Gateway:OutputCache:Policies:p:VaryByHeader:0: 'Bad:Name'", StringComparison.Ordinal));
        Assert.Equal(3, failures.Count);
    }
}
