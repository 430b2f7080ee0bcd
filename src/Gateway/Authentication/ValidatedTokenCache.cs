// Remembers tokens that validated, for at most MaxAge and never past their own expiry, so a client that sends the
// same token on every request pays the signature check (RS256: ~100 us here, most of an authenticated request's
// cost) once. Gap: JwtBearer validates every request's token from scratch.
// Trade-off (documented): a token signed by a key the identity provider has since withdrawn keeps validating for up
// to MaxAge. A changed scheme gets new options and so a new, empty cache; refused tokens are never cached.
using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Authentication;

internal sealed class ValidatedTokenCache(TokenHandler inner, TimeProvider time) : TokenHandler
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(30);
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var now = time.GetUtcNow().UtcDateTime;
        if (_entries.TryGetValue(token, out var entry))
        {
            if (now < entry.Until)
            {
                return Copy(entry.Result);
            }

            _entries.TryRemove(token, out _);
        }

        var result = await inner.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.ClaimsIdentity is not null)
        {
            var until = now + MaxAge;
            if (result.SecurityToken?.ValidTo is { } validTo && validTo != DateTime.MinValue && validTo < until)
            {
                until = validTo; // never past the token's own expiry (the clock skew is not granted twice)
            }

            if (_entries.Count >= MaxEntries)
            {
                _entries.Clear(); // a bound, not an LRU: the next requests refill it
            }

            _entries[token] = new Entry(result, until);
            return Copy(result);
        }

        return result;
    }

    /// <summary>A result of its own per request, with its own copy of the identity (nothing downstream can change the cached one).</summary>
    private static TokenValidationResult Copy(TokenValidationResult cached) => new()
    {
        IsValid = true,
        ClaimsIdentity = cached.ClaimsIdentity.Clone(),
        SecurityToken = cached.SecurityToken,
        Issuer = cached.Issuer,
        TokenType = cached.TokenType,
        TokenContext = cached.TokenContext,
    };

    public override SecurityToken ReadToken(string token) => inner.ReadToken(token);

    private sealed record Entry(TokenValidationResult Result, DateTime Until);
}
