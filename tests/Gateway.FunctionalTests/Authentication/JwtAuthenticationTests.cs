using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.Resilience;

namespace Gateway.FunctionalTests.Authentication;

public sealed class JwtAuthenticationTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, object> Reader = new() { ["sub"] = "user-42", ["scope"] = "profile orders.read" };

    [Fact]
    public async Task ValidToken_Reaches_TheUpstream_WithClaimHeaders_NeverForgedOnes_AndEveryBadToken_Gets401_AMissingScope403_NoneReachingTheUpstream()
    {
        await using var idp = await LoopbackIdentityProvider.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync("orders");
        await using var gateway = await GatewayProcess.StartAsync(AuthConfig.Build(idp, upstream).ToJson());
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(60));
        try
        {
            Assert.Equal(0, await ResultsAsync(gateway, "orders", "allowed"));

            // Valid: 200; the upstream sees the mapped claims, not the client's forged X-User-Id, and no Authorization.
            using (var ok = await SendAsync(client, "/orders/1", idp.Token(AuthConfig.Audience, Reader), forgedUser: "admin"))
            {
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            }

            var seen = Assert.Single(upstream.Requests);
            Assert.Equal("user-42", seen.Headers["X-User-Id"]);
            Assert.Equal("profile orders.read", seen.Headers["X-User-Scope"]);
            Assert.False(seen.Headers.ContainsKey("Authorization"));

            // Default policy (any valid token): the Authorization header is forwarded (the documented default).
            using (var any = await SendAsync(client, "/any/1", idp.Token(AuthConfig.Audience, new Dictionary<string, object> { ["sub"] = "user-7" }), forgedUser: "admin"))
            {
                Assert.Equal(HttpStatusCode.OK, any.StatusCode);
            }

            Assert.True(upstream.Requests.TryDequeue(out _));
            seen = Assert.Single(upstream.Requests);
            Assert.Equal("user-7", seen.Headers["X-User-Id"]);
            Assert.StartsWith("Bearer ", seen.Headers["Authorization"], StringComparison.Ordinal);

            // A route without a policy: anonymous, and a forged identity header is removed all the same.
            using (var open = await SendAsync(client, "/open/1", token: null, forgedUser: "admin"))
            {
                Assert.Equal(HttpStatusCode.OK, open.StatusCode);
            }

            Assert.True(upstream.Requests.TryDequeue(out _));
            seen = Assert.Single(upstream.Requests);
            Assert.False(seen.Headers.ContainsKey("X-User-Id"));
            upstream.Requests.Clear();

            var otherKey = LoopbackIdentityProvider.NewKey(idp.SigningKey.KeyId!); // same kid, another key: a forged signature
            var refused = new (string What, string? Token)[]
            {
                ("missing", null),
                ("expired", idp.Token(AuthConfig.Audience, Reader, expires: DateTime.UtcNow.AddMinutes(-5))),
                ("wrong issuer", idp.Token(AuthConfig.Audience, Reader, issuer: "http://127.0.0.1:1/other")),
                ("wrong audience", idp.Token("billing-api", Reader)),
                ("bad signature", idp.Token(AuthConfig.Audience, Reader, signingKey: otherKey)),
                ("alg none", idp.UnsignedToken(AuthConfig.Audience, Reader)),
                ("not a JWT", "not-a-token"),
            };
            foreach (var (what, token) in refused)
            {
                using var response = await SendAsync(client, "/orders/1", token, forgedUser: "admin");
                var body = await response.Content.ReadAsStringAsync();
                output.WriteLine($"{what}: {(int)response.StatusCode} {response.Headers.WwwAuthenticate} {body}");
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: {(int)response.StatusCode}");
                Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
                Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal("""{"error":"unauthorized"}""", body);
            }

            // Valid token, lacking the scope: 403.
            using (var forbidden = await SendAsync(client, "/orders/1", idp.Token(AuthConfig.Audience, new Dictionary<string, object> { ["sub"] = "user-42", ["scope"] = "profile orders.readonly" }), forgedUser: null))
            {
                Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
                Assert.Equal("""{"error":"forbidden"}""", await forbidden.Content.ReadAsStringAsync());
            }

            Assert.Empty(upstream.Requests);
            await Wait.UntilAsync(async () => await ResultsAsync(gateway, "orders", "forbidden") == 1, TimeSpan.FromSeconds(10), "gateway_auth_results_total to count the 403");
            Assert.Equal(1, await ResultsAsync(gateway, "orders", "allowed"));
            Assert.Equal(1, await ResultsAsync(gateway, "orders", "missing"));
            Assert.Equal(refused.Length - 1, await ResultsAsync(gateway, "orders", "invalid"));
            Assert.Equal(1, await ResultsAsync(gateway, "any", "allowed"));
        }
        catch
        {
            output.WriteLine(gateway.Output);
            throw;
        }
    }

    [Fact]
    public async Task KeyRotationAtTheIdentityProvider_NewTokensValidate_WithoutRestart_AndWithTheProviderDown_KnownKeysKeepValidating()
    {
        await using var idp = await LoopbackIdentityProvider.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync("orders");
        await using var gateway = await GatewayProcess.StartAsync(AuthConfig.Build(idp, upstream, refreshInterval: "00:00:01").ToJson());
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(60));
        try
        {
            var oldToken = idp.Token(AuthConfig.Audience, Reader);
            using (var first = await SendAsync(client, "/orders/1", oldToken, forgedUser: null))
            {
                Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            }

            // Rotation: a token signed by the new key names a kid the gateway has not fetched; the handler refreshes the
            // keys (at most once per RefreshInterval, 1 s here) and the new token validates, with no restart.
            var fetchesBefore = idp.JwksRequests;
            idp.Rotate("key-2");
            var newToken = idp.Token(AuthConfig.Audience, Reader);
            var attempts = 0;
            await Wait.UntilAsync(async () =>
            {
                attempts++;
                using var response = await SendAsync(client, "/orders/1", newToken, forgedUser: null);
                return response.StatusCode == HttpStatusCode.OK;
            }, TimeSpan.FromSeconds(60), "a token signed by the rotated key to validate", pollMs: 250);
            output.WriteLine($"new key accepted after {attempts} request(s); JWKS fetched {idp.JwksRequests - fetchesBefore} more time(s)");
            Assert.True(idp.JwksRequests > fetchesBefore);

            // The provider goes away for 30 s: tokens signed by keys already fetched keep validating throughout.
            await idp.StopAsync();
            var down = System.Diagnostics.Stopwatch.StartNew();
            var checks = 0;
            while (down.Elapsed < TimeSpan.FromSeconds(30))
            {
                foreach (var token in new[] { oldToken, newToken })
                {
                    using var response = await SendAsync(client, "/orders/1", token, forgedUser: null);
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} after {down.Elapsed.TotalSeconds:F1} s with the provider down");
                    checks++;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500));
            }

            // A key it never fetched cannot validate while the provider is down, and that costs no 5xx.
            using (var unknown = await SendAsync(client, "/orders/1", idp.Token(AuthConfig.Audience, Reader, signingKey: LoopbackIdentityProvider.NewKey("key-3")), forgedUser: null))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
            }

            output.WriteLine($"{checks} requests validated over {down.Elapsed.TotalSeconds:F0} s with the provider down");
        }
        catch
        {
            output.WriteLine(gateway.Output);
            throw;
        }
    }

    [Fact]
    public async Task IdentityProviderUnreachableFromStart_TokensGet401_NeverA5xx_AndValidateOnceItIsUp()
    {
        // The provider's port is taken by the test and closed, so the gateway's first metadata fetch is refused.
        var idp = await LoopbackIdentityProvider.StartAsync();
        var token = idp.Token(AuthConfig.Audience, Reader);
        await using var upstream = await UpstreamServer.StartAsync("orders");
        var config = AuthConfig.Build(idp, upstream);
        await idp.StopAsync();
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(60));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client, "/orders/1", token));
        }

        Assert.Empty(upstream.Requests);

        // The provider comes up: the failed fetch is retried (after RefreshInterval, 1 s here) and the token validates.
        await idp.RestartAsync();
        await Wait.UntilAsync(async () => await StatusAsync(client, "/orders/1", token) == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "the token to validate once the provider is up", pollMs: 250);
        await idp.DisposeAsync();
    }

    [Fact]
    public async Task Reload_ChangesSchemesAndPolicies_WithoutRestart_AndABadOneIsRejected_WhileTheLastGoodKeepsServing()
    {
        await using var idp = await LoopbackIdentityProvider.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync("orders");
        var config = AuthConfig.Build(idp, upstream);
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(60));
        try
        {
            var reader = idp.Token(AuthConfig.Audience, Reader);
            var admin = idp.Token("orders-admin-api", new Dictionary<string, object> { ["sub"] = "user-1", ["scope"] = "orders.write", ["roles"] = "admin" });
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "/orders/1", reader));
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client, "/orders/1", admin)); // another audience

            // A bad candidate (credentials with any origin, a policy naming no scheme) is refused with key paths.
            var bad = AuthConfig.Build(idp, upstream)
                .Set("Gateway:Cors:Policies:web", JsonNode.Parse("""{ "AllowedOrigins": ["*"], "AllowCredentials": true }"""))
                .Set("Gateway:Authorization:Policies:orders-read:Schemes", new JsonArray("nope"));
            await gateway.WriteConfigAsync(bad.ToJson());
            await gateway.WaitForLogAsync("Gateway:Cors:Policies:web:AllowedOrigins:0: '*' cannot be used with AllowCredentials true", TimeSpan.FromSeconds(30));
            Assert.Contains("Gateway:Authorization:Policies:orders-read:Schemes:0: 'nope' names no scheme", gateway.Output, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "/orders/1", reader));

            // Good: the scheme accepts a second audience, the route's policy now wants the admin role.
            var good = AuthConfig.Build(idp, upstream)
                .Set("Gateway:Authentication:Schemes:idp:Audiences", new JsonArray(AuthConfig.Audience, "orders-admin-api"))
                .Set("Gateway:Authorization:Policies:orders-admin", JsonNode.Parse("""{ "RequireRoles": ["admin"] }"""))
                .Set("ReverseProxy:Routes:orders:AuthorizationPolicy", "orders-admin");
            await gateway.WriteConfigAsync(good.ToJson());
            await Wait.UntilAsync(async () => await StatusAsync(client, "/orders/1", admin) == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the reloaded scheme and policy to admit the admin token");
            Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(client, "/orders/1", reader)); // valid, but no admin role
        }
        catch
        {
            output.WriteLine(gateway.Output);
            throw;
        }
    }

    [Fact]
    public async Task ARepeatedToken_IsAllowedFromTheCache_WithItsClaimHeaders_UntilItExpires_AndAReloadedPolicyOrSchemeDecidesAgain()
    {
        await using var idp = await LoopbackIdentityProvider.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync("orders");
        var config = AuthConfig.Build(idp, upstream).Set("Gateway:Authentication:Schemes:idp:ClockSkew", "00:00:00")
            .Set("Logging:LogLevel:Microsoft.AspNetCore.Authentication", "Debug"); // the handler says when it authenticates
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(60));
        try
        {
            // The same token again and again (the second and later requests are the cached path): each one 200, with
            // the claim headers from the token, never the forged one, and counted as allowed.
            var reader = idp.Token(AuthConfig.Audience, Reader);
            for (var i = 0; i < 3; i++)
            {
                using var ok = await SendAsync(client, "/orders/1", reader, forgedUser: "admin");
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
                Assert.True(upstream.Requests.TryDequeue(out var seen));
                Assert.Equal("user-42", seen.Headers["X-User-Id"]);
                Assert.Equal("profile orders.read", seen.Headers["X-User-Scope"]);
                Assert.False(seen.Headers.ContainsKey("Authorization"));
            }

            // Only the first of them went through the JwtBearer handler.
            Assert.Equal(1, Occurrences(gateway.Output, "AuthenticationScheme: idp was successfully authenticated"));

            // Another route's policy on the same token is decided for itself, then cached too.
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "/any/1", reader));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "/any/1", reader));
            await Wait.UntilAsync(async () => await ResultsAsync(gateway, "orders", "allowed") == 3, TimeSpan.FromSeconds(10), "gateway_auth_results_total to count the cached decisions");
            Assert.Equal(2, await ResultsAsync(gateway, "any", "allowed"));
            Assert.Equal(2, Occurrences(gateway.Output, "AuthenticationScheme: idp was successfully authenticated"));

            // Expiry is checked on every request against the clock (ClockSkew 0 here): a request sent after the
            // token's exp is refused, however often the token was allowed before.
            var expiresAt = DateTime.UtcNow.AddSeconds(3);
            expiresAt = expiresAt.AddTicks(-(expiresAt.Ticks % TimeSpan.TicksPerSecond)); // exp is in whole seconds
            var shortLived = idp.Token(AuthConfig.Audience, Reader, expires: expiresAt);
            var allowedBefore = 0;
            await Wait.UntilAsync(async () =>
            {
                var sent = DateTime.UtcNow;
                var status = await StatusAsync(client, "/orders/1", shortLived);
                if (sent > expiresAt)
                {
                    Assert.Equal(HttpStatusCode.Unauthorized, status);
                    return true;
                }

                allowedBefore += status == HttpStatusCode.OK ? 1 : 0;
                return false;
            }, TimeSpan.FromSeconds(30), "a request after the short-lived token's expiry", pollMs: 50);
            output.WriteLine($"short-lived token allowed {allowedBefore} time(s) before its exp, refused after");
            Assert.True(allowedBefore > 1, "the short-lived token was used from the cache before it expired");

            // A reloaded policy is a new policy: the cached decision for the old one never applies to it.
            config.Set("Gateway:Authorization:Policies:orders-read", JsonNode.Parse("""{ "RequireClaims": { "scope": ["orders.admin"] } }"""));
            await ReloadUntilAsync(gateway, client, config, "/orders/1", reader, HttpStatusCode.Forbidden, "the reloaded policy to refuse the cached token");

            // A changed scheme drops its validated tokens: the token's audience is no longer accepted.
            config.Set("Gateway:Authentication:Schemes:idp:Audiences", new JsonArray("billing-api"));
            await ReloadUntilAsync(gateway, client, config, "/any/1", reader, HttpStatusCode.Unauthorized, "the changed scheme to refuse the token it had cached");
        }
        catch
        {
            output.WriteLine(gateway.Output);
            throw;
        }
    }

    /// <summary>Writes the config, then sends the token until the answer turns from 200 to <paramref name="refused"/> (nothing else in between), and once more.</summary>
    private static async Task ReloadUntilAsync(GatewayProcess gateway, HttpClient client, JsonObject config, string path, string token, HttpStatusCode refused, string what)
    {
        await gateway.WriteConfigAsync(config.ToJson());
        await Wait.UntilAsync(async () =>
        {
            var status = await StatusAsync(client, path, token);
            Assert.True(status == HttpStatusCode.OK || status == refused, $"{(int)status} while the config reloads");
            return status == refused;
        }, TimeSpan.FromSeconds(30), what);
        Assert.Equal(refused, await StatusAsync(client, path, token));
    }

    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string path, string? token)
    {
        using var response = await SendAsync(client, path, token, forgedUser: null);
        return response.StatusCode;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string path, string? token, string? forgedUser)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (forgedUser is not null)
        {
            request.Headers.TryAddWithoutValidation("X-User-Id", forgedUser);
        }

        return await client.SendAsync(request);
    }

    private static Task<double> ResultsAsync(GatewayProcess gateway, string route, string result) =>
        ResilienceConfig.ScrapeAsync(gateway, "gateway_auth_results_total", $"route=\"{route}\"", $"result=\"{result}\"");
}
