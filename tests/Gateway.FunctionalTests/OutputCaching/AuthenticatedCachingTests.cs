using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Authentication;
using Gateway.FunctionalTests.Infrastructure;
using static Gateway.FunctionalTests.OutputCaching.OutputCacheTestKit;

namespace Gateway.FunctionalTests.OutputCaching;

/// <summary>The output cache behind JWT authorization (a loopback identity provider signs the tokens).</summary>
public sealed class AuthenticatedCachingTests
{
    [Fact]
    public async Task BehindAnAuthorizationPolicy_NothingIsCachedByDefault_AndWithTheOptIn_EachTokenHasItsOwnEntry_AndNoTokenNeverGetsOne()
    {
        await using var idp = await LoopbackIdentityProvider.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync("api", handler: Numbered());
        var config = AuthConfig.Build(idp, upstream)
            .Set("ReverseProxy:Routes:any:OutputCachePolicy", "per-token")
            .Set("ReverseProxy:Routes:strict", JsonNode.Parse("""{ "ClusterId": "backend", "Match": { "Path": "/strict/{**rest}" }, "AuthorizationPolicy": "Default", "OutputCachePolicy": "default" }"""))
            .Set("Gateway:OutputCache:Policies:per-token", new JsonObject { ["Expire"] = "00:05:00", ["CacheAuthenticated"] = true, ["VaryByHeader"] = new JsonArray("Authorization") })
            .Set("Gateway:OutputCache:Policies:default", new JsonObject { ["Expire"] = "00:05:00" });
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(60));
        var alice = idp.Token(AuthConfig.Audience, new Dictionary<string, object> { ["sub"] = "alice" });
        var bob = idp.Token(AuthConfig.Audience, new Dictionary<string, object> { ["sub"] = "bob" });
        void As(HttpRequestMessage request, string token) => request.Headers.Authorization = new("Bearer", token);

        // The policy without the opt-in: an authenticated request is never served from the cache.
        var first = await client.BodyAsync("/strict/x", r => As(r, alice));
        Assert.NotEqual(first, await client.BodyAsync("/strict/x", r => As(r, alice)));

        // With the opt-in and VaryByHeader Authorization: one entry per token.
        var aliceAnswer = await client.BodyAsync("/any/x", r => As(r, alice));
        Assert.Equal(aliceAnswer, await client.BodyAsync("/any/x", r => As(r, alice)));
        var bobAnswer = await client.BodyAsync("/any/x", r => As(r, bob));
        Assert.NotEqual(aliceAnswer, bobAnswer);
        Assert.Equal(4, upstream.Requests.Count);

        // The cache runs after authorization: without a token the answer is 401, never a cached 200.
        using var anonymous = await client.GetAsync("/any/x");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(4, upstream.Requests.Count);
    }
}
