using System.Security.Claims;
using System.Security.Cryptography;
using Gateway.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tests.Authentication;

public sealed class ValidatedTokenCacheTests
{
    private static readonly RsaSecurityKey Key = new(RSA.Create(2048)) { KeyId = "k1" };

    [Fact]
    public async Task AValidToken_IsCheckedOnce_ThenServedFromTheCache_WithAnIdentityOfItsOwnPerRequest()
    {
        var (cache, inner, time) = Create();
        var token = Token(expires: time.GetUtcNow().UtcDateTime.AddHours(1));

        var first = await cache.ValidateTokenAsync(token, Parameters());
        var second = await cache.ValidateTokenAsync(token, Parameters());

        Assert.True(first.IsValid);
        Assert.True(second.IsValid);
        Assert.Equal(1, inner.Validations);
        Assert.Equal("user-1", second.ClaimsIdentity.FindFirst("sub")?.Value);
        Assert.NotSame(first.ClaimsIdentity, second.ClaimsIdentity);
        second.ClaimsIdentity.AddClaim(new Claim("added", "x"));
        Assert.Null((await cache.ValidateTokenAsync(token, Parameters())).ClaimsIdentity.FindFirst("added"));
    }

    [Fact]
    public async Task AnEntry_LastsAtMostMaxAge_AndNeverPastTheTokensExpiry()
    {
        var (cache, inner, time) = Create();
        var longLived = Token(expires: time.GetUtcNow().UtcDateTime.AddHours(1));
        await cache.ValidateTokenAsync(longLived, Parameters());
        time.Advance(ValidatedTokenCache.MaxAge);
        await cache.ValidateTokenAsync(longLived, Parameters());
        Assert.Equal(2, inner.Validations); // checked again after MaxAge (a withdrawn key is noticed)

        var shortLived = Token(expires: time.GetUtcNow().UtcDateTime.AddSeconds(10));
        await cache.ValidateTokenAsync(shortLived, Parameters());
        time.Advance(TimeSpan.FromSeconds(11));
        var expired = await cache.ValidateTokenAsync(shortLived, Parameters(clockSkew: TimeSpan.Zero, now: time));
        Assert.False(expired.IsValid);
        Assert.Equal(4, inner.Validations);
    }

    [Fact]
    public async Task ARefusedToken_IsNeverCached()
    {
        var (cache, inner, time) = Create();
        var token = Token(expires: time.GetUtcNow().UtcDateTime.AddHours(1)) + "x"; // bad signature

        Assert.False((await cache.ValidateTokenAsync(token, Parameters())).IsValid);
        Assert.False((await cache.ValidateTokenAsync(token, Parameters())).IsValid);
        Assert.Equal(2, inner.Validations);
    }

    [Fact]
    public async Task AnAllowedDecision_IsKeptForThatPolicyInstanceOnly_WithAUserOfItsOwn_AndNotPastTheEntrysTime()
    {
        var (cache, _, time) = Create();
        var token = Token(expires: time.GetUtcNow().UtcDateTime.AddSeconds(20));
        var policy = new AuthorizationPolicyBuilder("idp").RequireAuthenticatedUser().Build();
        Assert.False(cache.TryGetAllowed(token, policy, out _)); // nothing validated yet

        var result = await cache.ValidateTokenAsync(token, Parameters());
        var user = new ClaimsPrincipal(result.ClaimsIdentity);
        Assert.False(cache.TryGetAllowed(token, policy, out _)); // validated, but no policy allowed it yet

        cache.RememberAllowed(token, user, policy);
        Assert.True(cache.TryGetAllowed(token.AsSpan(), policy, out var cached));
        Assert.NotSame(user, cached);
        Assert.Equal("user-1", cached.FindFirst("sub")?.Value);
        Assert.True(cached.Identity?.IsAuthenticated);

        // The same rules rebuilt by a reload are another instance: decided again.
        Assert.False(cache.TryGetAllowed(token, new AuthorizationPolicyBuilder("idp").RequireAuthenticatedUser().Build(), out _));

        // A user made of anything but this token's identity is never remembered.
        var otherToken = Token(expires: time.GetUtcNow().UtcDateTime.AddHours(1));
        await cache.ValidateTokenAsync(otherToken, Parameters());
        cache.RememberAllowed(otherToken, new ClaimsPrincipal(new ClaimsIdentity()), policy);
        Assert.False(cache.TryGetAllowed(otherToken, policy, out _));

        // The token's exp (20 s) comes before MaxAge (30 s): checked against the clock on every call.
        time.Advance(TimeSpan.FromSeconds(19));
        Assert.True(cache.TryGetAllowed(token, policy, out _));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGetAllowed(token, policy, out _));
    }

    private static (ValidatedTokenCache, CountingHandler, FakeTimeProvider) Create()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var inner = new CountingHandler();
        return (new ValidatedTokenCache(inner, time), inner, time);
    }

    private static string Token(DateTime expires) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = "https://idp.test",
        Audience = "orders",
        Subject = new ClaimsIdentity([new Claim("sub", "user-1")]),
        NotBefore = expires.AddHours(-2),
        IssuedAt = expires.AddHours(-2),
        Expires = expires,
        SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.RsaSha256),
    });

    private static TokenValidationParameters Parameters(TimeSpan? clockSkew = null, TimeProvider? now = null) => new()
    {
        ValidIssuer = "https://idp.test",
        ValidAudience = "orders",
        IssuerSigningKey = Key,
        ClockSkew = clockSkew ?? TimeSpan.FromMinutes(5),
        LifetimeValidator = now is null ? null : (notBefore, expires, _, _) => expires > now.GetUtcNow().UtcDateTime,
    };

    private sealed class CountingHandler : JsonWebTokenHandler
    {
        public int Validations;

        public override Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
        {
            Interlocked.Increment(ref Validations);
            return base.ValidateTokenAsync(token, validationParameters);
        }
    }
}
