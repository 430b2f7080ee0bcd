// The sticky cohort: "route, cluster" in a Data Protection-encrypted cookie. The key ring is the one session affinity
// uses (shared through Redis when configured), so every replica reads every replica's cookies, and a tampered or
// foreign cookie fails to decrypt and counts as no cookie.
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;

namespace Gateway.TrafficSplit;

internal sealed class CohortCookie(IDataProtectionProvider provider, ILogger<CohortCookie> logger)
{
    // Decrypting on every request costs microseconds; a cohort cookie is replayed on every request of its session.
    private const int MaxCached = 10_000;
    private readonly IDataProtector _protector = provider.CreateProtector("Gateway.TrafficSplit.Cohort.v1");
    private readonly ConcurrentDictionary<string, string> _clusters = new(StringComparer.Ordinal);

    /// <summary>The cluster the cookie pins <paramref name="routeId"/> to, or null for a missing, tampered or foreign cookie.</summary>
    public string? Read(string? cookie, string routeId)
    {
        if (string.IsNullOrEmpty(cookie))
        {
            return null;
        }

        if (!_clusters.TryGetValue(cookie, out var payload))
        {
            try
            {
                payload = _protector.Unprotect(cookie);
            }
            catch (CryptographicException)
            {
                return null; // never cached: a flood of forged cookies must not fill the cache
            }
            catch (FormatException)
            {
                return null;
            }

            if (_clusters.Count >= MaxCached)
            {
                _clusters.Clear();
            }

            _clusters[cookie] = payload;
        }

        var separator = payload.IndexOf('\n', StringComparison.Ordinal);
        return separator > 0 && payload.AsSpan(0, separator).Equals(routeId, StringComparison.OrdinalIgnoreCase)
            ? payload[(separator + 1)..]
            : null;
    }

    /// <summary>A new cookie value, or null when the key ring is unavailable (the session then stays unpinned).</summary>
    public string? Write(string routeId, string cluster)
    {
        try
        {
            return _protector.Protect(routeId + "\n" + cluster);
        }
        catch (CryptographicException ex)
        {
            Log.CohortNotIssued(logger, routeId, ex.Message);
            return null;
        }
    }
}
