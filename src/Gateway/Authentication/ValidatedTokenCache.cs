// Remembers tokens that validated, for at most MaxAge and never past their own expiry, so a client that sends the
// same token on every request pays the signature check (RS256: ~100 us here, most of an authenticated request's
// cost) once. Gap: JwtBearer validates every request's token from scratch.
// It also remembers, per token, the policy that last allowed it (and a user for it), so that
// CachedAuthorizationStep can let the next request with that token through without ASP.NET Core's handler and
// policy evaluation (see there). One cache per scheme's JwtBearerOptions: a changed or removed scheme gets new options
// and so a new, empty cache (JwtSchemes drops the old options).
// Trade-off (documented): a token signed by a key the identity provider has since withdrawn keeps validating for up
// to MaxAge. Refused tokens are never cached.
using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Authentication;

internal sealed class ValidatedTokenCache : TokenHandler
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(30);
    private const int MaxEntries = 10_000;

    private readonly TokenHandler _inner;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public ValidatedTokenCache(TokenHandler inner, TimeProvider time)
    {
        _inner = inner;
        _time = time;
        _bySpan = _entries.GetAlternateLookup<ReadOnlySpan<char>>(); // the header's token without a substring per request
    }

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (_entries.TryGetValue(token, out var entry))
        {
            if (now < entry.Until)
            {
                return Copy(entry);
            }

            _entries.TryRemove(token, out _);
        }

        var result = await _inner.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.ClaimsIdentity is { } identity)
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

            entry = new Entry(result, identity, until);
            _entries[token] = entry;
            return Copy(entry);
        }

        return result;
    }

    /// <summary>
    /// The user <paramref name="policy"/> allowed with this token, if it did and the token's entry is still within
    /// its time (checked against the clock on every call).
    /// </summary>
    public bool TryGetAllowed(ReadOnlySpan<char> token, AuthorizationPolicy policy, out ClaimsPrincipal user)
    {
        if (_bySpan.TryGetValue(token, out var entry)
            && entry.Allowed is { } allowed
            && ReferenceEquals(allowed.Policy, policy)
            && _time.GetUtcNow().UtcDateTime < entry.Until)
        {
            user = allowed.User;
            return true;
        }

        user = null!;
        return false;
    }

    /// <summary>
    /// After ASP.NET Core's policy evaluation allowed <paramref name="user"/>, authenticated by this cache's scheme alone:
    /// the decision is remembered for the token, with a user of its own (a copy of the validated identity, the claims
    /// the policy saw) that the next requests with the token share. Nothing in the gateway writes to a request's user
    /// (claim headers, policies and the output cache only read it).
    /// </summary>
    public void RememberAllowed(ReadOnlySpan<char> token, ClaimsPrincipal user, AuthorizationPolicy policy)
    {
        if (_bySpan.TryGetValue(token, out var entry) && entry.Allowed?.Policy != policy && IsCopyOf(user, entry.Identity))
        {
            entry.Allowed = new AllowedBy(policy, new ClaimsPrincipal(entry.Identity.Clone()));
        }
    }

    /// <summary>The user has one identity, the copy of this token's validated identity this cache handed out.</summary>
    private static bool IsCopyOf(ClaimsPrincipal user, ClaimsIdentity identity)
    {
        var count = 0;
        foreach (var candidate in user.Identities)
        {
            if (++count > 1
                || !candidate.IsAuthenticated
                || !string.Equals(candidate.AuthenticationType, identity.AuthenticationType, StringComparison.Ordinal)
                || candidate.Claims.Count() != identity.Claims.Count())
            {
                return false;
            }
        }

        return count == 1;
    }

    /// <summary>A result of its own per request, with its own copy of the identity (nothing downstream can change the cached one).</summary>
    private static TokenValidationResult Copy(Entry entry) => new()
    {
        IsValid = true,
        ClaimsIdentity = entry.Identity.Clone(),
        SecurityToken = entry.Result.SecurityToken,
        Issuer = entry.Result.Issuer,
        TokenType = entry.Result.TokenType,
        TokenContext = entry.Result.TokenContext,
    };

    public override SecurityToken ReadToken(string token) => _inner.ReadToken(token);

    private sealed class Entry(TokenValidationResult result, ClaimsIdentity identity, DateTime until)
    {
        public TokenValidationResult Result { get; } = result;

        public ClaimsIdentity Identity { get; } = identity;

        public DateTime Until { get; } = until;

        public volatile AllowedBy? Allowed;
    }

    private sealed record AllowedBy(AuthorizationPolicy Policy, ClaimsPrincipal User);
}
