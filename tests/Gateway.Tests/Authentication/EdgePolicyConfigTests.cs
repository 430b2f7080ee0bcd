using System.Text.Json.Nodes;
using Gateway.Authentication;
using Gateway.Configuration;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Authentication;

/// <summary>Schemes, authorization and CORS policies, and the route keys that name them: validated with key paths, reloaded without a restart.</summary>
public sealed class EdgePolicyConfigTests
{
    private const string Route = "ReverseProxy:Routes:all";
    private const string Scheme = "Gateway:Authentication:Schemes:idp";

    /// <summary>A valid config with a scheme, a named policy, a CORS policy and a route using all of them.</summary>
    public static JsonObject Valid() => TestGateway.Config()
        .Set(Scheme, JsonNode.Parse("""{ "Authority": "https://login.example.com", "Audiences": ["orders-api"] }"""))
        .Set("Gateway:Authorization:Policies:orders-read", JsonNode.Parse("""{ "RequireClaims": { "scope": ["orders.read"] } }"""))
        .Set("Gateway:Cors:Policies:web", JsonNode.Parse("""{ "AllowedOrigins": ["https://app.example.com", "https://*.example.org"], "AllowCredentials": true, "MaxAge": "00:10:00" }"""))
        .Set($"{Route}:AuthorizationPolicy", "orders-read")
        .Set($"{Route}:CorsPolicy", "web")
        .Set($"{Route}:Authentication", JsonNode.Parse("""{ "ForwardAuthorizationHeader": false, "ClaimHeaders": { "X-User-Id": "sub" } }"""));

    public static TheoryData<string, string, string> Refused() => new()
    {
        // name, JSON patch (path=value; ...), expected message start
        { "unknown policy", $"{Route}:AuthorizationPolicy=admins", $"{Route}:AuthorizationPolicy: 'admins' names no policy" },
        { "unknown CORS policy", $"{Route}:CorsPolicy=mobile", $"{Route}:CorsPolicy: 'mobile' names no policy" },
        { "Default CORS without a Default policy", $"{Route}:CorsPolicy=Default", $"{Route}:CorsPolicy: 'Default' names no policy" },
        { "policy naming an unknown scheme", "Gateway:Authorization:Policies:orders-read:Schemes:0=partners", "Gateway:Authorization:Policies:orders-read:Schemes:0: 'partners' names no scheme" },
        { "credentials with any origin", "Gateway:Cors:Policies:web:AllowedOrigins:0=*", "Gateway:Cors:Policies:web:AllowedOrigins:0: '*' cannot be used with AllowCredentials true" },
        { "origin with a path", "Gateway:Cors:Policies:web:AllowedOrigins:0=https://app.example.com/", "Gateway:Cors:Policies:web:AllowedOrigins:0: 'https://app.example.com/' is not an origin" },
        { "plain HTTP metadata", $"{Scheme}:Authority=http://login.example.com", $"{Scheme}:Authority: 'http://login.example.com' is not HTTPS" },
        { "no audience", $"{Scheme}:Audiences:0=", $"{Scheme}:Audiences:0: '' is empty" },
        { "JWKS without issuer", $"{Scheme}:JwksUri=https://login.example.com/keys", $"{Scheme}:JwksUri: 'https://login.example.com/keys' is set with Authority" },
        { "unknown type", $"{Scheme}:Type=Saml", $"{Scheme}:Type: 'Saml' is not a scheme type" },
        { "short refresh", $"{Scheme}:AutomaticRefreshInterval=00:00:10", $"{Scheme}:AutomaticRefreshInterval: '00:00:10' must be at least 00:05:00" },
        { "bad clock skew", $"{Scheme}:ClockSkew=ten", $"{Scheme}:ClockSkew: 'ten' is not a TimeSpan" },
        { "reserved policy name", "Gateway:Authorization:Policies:Anonymous:RequireAuthenticatedUser=true", "Gateway:Authorization:Policies:Anonymous: 'Anonymous' is reserved by YARP" },
        { "reserved CORS name", "Gateway:Cors:Policies:Disable:AllowedOrigins:0=https://a.example.com", "Gateway:Cors:Policies:Disable: 'Disable' is reserved by YARP" },
        { "claim header Authorization", $"{Route}:Authentication:ClaimHeaders:Authorization=sub", $"{Route}:Authentication:ClaimHeaders:Authorization: 'Authorization' is a header the gateway or HTTP itself controls" },
        { "empty claim type", $"{Route}:Authentication:ClaimHeaders:X-User-Id=", $"{Route}:Authentication:ClaimHeaders:X-User-Id: '' is not a claim type" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task BadValues_AreRefused_WithTheirKeyPath(string name, string patch, string expected)
    {
        await using var gateway = TestGateway.Start(Valid());
        var candidate = Valid();
        foreach (var assignment in patch.Split("; "))
        {
            var equals = assignment.IndexOf('=', StringComparison.Ordinal);
            candidate.Set(assignment[..equals], assignment[(equals + 1)..]);
        }

        var errors = gateway.Store.ValidateCandidate(Read(gateway, candidate));
        Assert.True(errors.Any(e => e.StartsWith(expected, StringComparison.Ordinal)), $"{name}: expected '{expected}...' in:\n{string.Join("\n", errors)}");
    }

    [Fact]
    public async Task RouteDefault_WithoutAnyScheme_IsRefused_AndWithOne_IsAccepted()
    {
        await using var gateway = TestGateway.Start(TestGateway.Config());
        var errors = gateway.Store.ValidateCandidate(Read(gateway, TestGateway.Config().Set($"{Route}:AuthorizationPolicy", "Default")));
        Assert.Contains(errors, e => e.StartsWith($"{Route}:AuthorizationPolicy: 'Default' requires an authenticated user", StringComparison.Ordinal));
        Assert.Empty(gateway.Store.ValidateCandidate(Read(gateway, Valid().Set($"{Route}:AuthorizationPolicy", "Default"))));
    }

    [Fact]
    public async Task MisspelledKeys_AreReported()
    {
        await using var gateway = TestGateway.Start(Valid());
        var candidate = Valid().Set($"{Scheme}:Audience", "x").Set("Gateway:Cors:Policies:web:AllowedOrigin", "x");
        var (_, unknown) = gateway.Store.ValidateCandidateWithWarnings(Read(gateway, candidate));
        Assert.Contains(unknown, k => k.Path == $"{Scheme}:Audience" && k.Suggestion == "Audiences");
        Assert.Contains(unknown, k => k.Path == "Gateway:Cors:Policies:web:AllowedOrigin" && k.Suggestion == "AllowedOrigins");
    }

    [Fact]
    public async Task Reload_AddsAndChangesPoliciesAndSchemes_WithoutARestart()
    {
        await using var gateway = TestGateway.Start(Valid());
        var policies = gateway.Get<IAuthorizationPolicyProvider>();
        var cors = gateway.Get<ICorsPolicyProvider>();
        var schemes = gateway.Get<IAuthenticationSchemeProvider>();
        await gateway.Get<JwtSchemes>().StartAsync(CancellationToken.None); // a hosted service; TestGateway starts none
        Assert.NotNull(await schemes.GetSchemeAsync("idp"));
        Assert.Equal(["idp"], (await policies.GetPolicyAsync("orders-read"))!.AuthenticationSchemes);

        gateway.Reload(Valid()
            .Set("Gateway:Authentication:Schemes:partners", JsonNode.Parse("""{ "Authority": "https://partners.example.com", "Audiences": ["orders-api"] }"""))
            .Set("Gateway:Authorization:Policies:orders-admin", JsonNode.Parse("""{ "Schemes": ["partners"], "RequireRoles": ["admin"] }"""))
            .Set("Gateway:Cors:Policies:web:AllowedOrigins", new JsonArray("https://new.example.com"))
            .Set($"{Route}:AuthorizationPolicy", "orders-admin"));

        Assert.NotNull(await schemes.GetSchemeAsync("partners"));
        var admin = await policies.GetPolicyAsync("orders-admin");
        Assert.Equal(["partners"], admin!.AuthenticationSchemes);
        Assert.Contains(admin.Requirements, r => r is RolesAuthorizationRequirement);
        var web = await cors.GetPolicyAsync(new DefaultHttpContext(), "web");
        Assert.Equal(["https://new.example.com"], web!.Origins);

        gateway.Reload(Valid());
        Assert.Null(await schemes.GetSchemeAsync("partners"));
    }

    [Fact]
    public async Task DryRun_SaysWhichSchemesFetchTheirKeysAgain()
    {
        await using var gateway = TestGateway.Start(Valid());
        var candidate = Valid()
            .Set($"{Scheme}:Audiences", new JsonArray("orders-api", "billing-api"))
            .Set("Gateway:Authentication:Schemes:partners", JsonNode.Parse("""{ "Authority": "https://partners.example.com", "Audiences": ["orders-api"] }"""));
        var preview = gateway.Store.Preview(Read(gateway, candidate));
        Assert.Empty(preview.Errors);
        var schemes = preview.Changes!["authenticationSchemes"]!;
        Assert.Equal("""["idp"]""", schemes["refetched"]!.ToJsonString());
        Assert.Equal("""["partners"]""", schemes["added"]!.ToJsonString());
        Assert.Equal("[]", schemes["kept"]!.ToJsonString());
    }

    private static ConfigFileContent Read(TestGateway gateway, JsonObject candidate)
    {
        var path = gateway.ConfigPath + ".candidate";
        File.WriteAllText(path, candidate.ToJsonString());
        try
        {
            return GatewayConfigFile.Read(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
