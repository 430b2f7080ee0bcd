using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Authentication;

/// <summary>Gateway config for the authentication tests: one JWT scheme on the loopback identity provider.</summary>
public static class AuthConfig
{
    public const string Audience = "orders-api";

    /// <summary>
    /// Routes: <c>orders</c> (/orders/..., policy orders-read: scope orders.read; X-User-Id and X-User-Scope from the
    /// token, Authorization stripped), <c>any</c> (/any/..., YARP's Default: any valid token), <c>open</c> (/open/...,
    /// no policy, X-User-Id mapped so a forged one is still removed).
    /// </summary>
    public static JsonObject Build(LoopbackIdentityProvider idp, UpstreamServer upstream, string refreshInterval = "00:00:01")
    {
        var config = GatewayConfig.SingleCluster(upstream);
        config.RemovePath("ReverseProxy:Routes:all");
        config.Set("ReverseProxy:Routes:orders", JsonNode.Parse("""
            {
              "ClusterId": "backend", "Match": { "Path": "/orders/{**rest}" }, "AuthorizationPolicy": "orders-read",
              "Authentication": { "ForwardAuthorizationHeader": false, "ClaimHeaders": { "X-User-Id": "sub", "X-User-Scope": "scope" } }
            }
            """));
        config.Set("ReverseProxy:Routes:any", JsonNode.Parse("""
            { "ClusterId": "backend", "Match": { "Path": "/any/{**rest}" }, "AuthorizationPolicy": "Default", "Authentication": { "ClaimHeaders": { "X-User-Id": "sub" } } }
            """));
        config.Set("ReverseProxy:Routes:open", JsonNode.Parse("""
            { "ClusterId": "backend", "Match": { "Path": "/open/{**rest}" }, "Authentication": { "ClaimHeaders": { "X-User-Id": "sub" } } }
            """));
        config.Set("Gateway:Authentication:Schemes:idp", new JsonObject
        {
            ["Authority"] = idp.Issuer,
            ["Audiences"] = new JsonArray(Audience),
            ["RequireHttpsMetadata"] = false,
            ["RefreshInterval"] = refreshInterval,
        });
        config.Set("Gateway:Authorization:Policies:orders-read", JsonNode.Parse("""{ "RequireClaims": { "scope": ["orders.read", "orders.admin"] } }"""));
        return config;
    }
}
