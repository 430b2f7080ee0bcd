// Gap in YARP: its cookie affinity policy decrypts the cookie with Data Protection on every request. On Linux that is
// the managed encryptor: a SP800-108 key derivation, an HMAC check and an AES decrypt per call, measured at about
// half the gateway's CPU per request with affinity on. A returning client sends the same cookie every time, so the
// protector YARP gets remembers what each exact ciphertext decrypted to, for a short while.
using System.Collections.Concurrent;
using Microsoft.AspNetCore.DataProtection;

namespace Gateway.Affinity;

/// <summary>
/// Hands YARP's session-affinity policies a protector that caches successful decryptions, and every cookie protector a
/// local fallback key while the configured key ring is not loaded yet.
/// </summary>
internal sealed class AffinityCookieProtectionProvider(IDataProtectionProvider inner, KeyRingState state, TimeProvider time) : IDataProtectionProvider
{
    /// <summary>The purpose prefix YARP's policies use (<c>CreateProtector(GetType().FullName)</c>).</summary>
    private const string AffinityPurposePrefix = "Yarp.ReverseProxy.SessionAffinity.";

    // In memory, this process only: what cookies are issued under while the shared ring cannot be read.
    private readonly EphemeralDataProtectionProvider _local = new();

    public IDataProtector CreateProtector(string purpose)
    {
        var shared = inner.CreateProtector(purpose);
        if (purpose == KeyRing.WarmupPurpose)
        {
            return shared;
        }

        // Only the shared ring's decryptions are cached: a local cookie must stop working the moment the ring loads.
        if (purpose.StartsWith(AffinityPurposePrefix, StringComparison.Ordinal))
        {
            shared = new CachingUnprotector(shared, time);
        }

        return new FallbackProtector(shared, _local.CreateProtector(purpose), state);
    }
}

/// <summary>
/// Gap: with Redis down since start, Data Protection cannot load the shared ring, and every Protect/Unprotect waits for
/// Redis's timeout and throws, so an affinity cluster answered 502 after ~7.5 s. Until the ring is loaded, cookies are
/// issued and read under a key local to this process (valid on this replica only); once it is loaded, only the shared
/// ring is used, so local cookies stop decrypting and their sessions are re-pinned under the shared ring.
/// </summary>
internal sealed class FallbackProtector(IDataProtector shared, IDataProtector local, KeyRingState state) : IDataProtector
{
    public IDataProtector CreateProtector(string purpose) => new FallbackProtector(shared.CreateProtector(purpose), local.CreateProtector(purpose), state);

    public byte[] Protect(byte[] plaintext) => state.IsLoaded ? shared.Protect(plaintext) : local.Protect(plaintext);

    public byte[] Unprotect(byte[] protectedData) => state.IsLoaded ? shared.Unprotect(protectedData) : local.Unprotect(protectedData);
}

/// <summary>
/// Only ciphertext that decrypted successfully is remembered, byte for byte: nothing can be forged through the cache.
/// Entries live <see cref="Lifetime"/> (a revoked key stops being honoured within it) and the whole cache is dropped
/// when it reaches <see cref="MaxEntries"/>, which bounds memory whatever clients send.
/// </summary>
internal sealed class CachingUnprotector(IDataProtector inner, TimeProvider time) : IDataProtector
{
    public const int MaxEntries = 10_000;
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<byte[], Entry> _decrypted = new(ByteContentComparer.Instance);

    public int Count => _decrypted.Count;

    public IDataProtector CreateProtector(string purpose) => inner.CreateProtector(purpose);

    public byte[] Protect(byte[] plaintext) => inner.Protect(plaintext);

    public byte[] Unprotect(byte[] protectedData)
    {
        var now = time.GetTimestamp();
        if (_decrypted.TryGetValue(protectedData, out var hit) && time.GetElapsedTime(hit.Stored, now) < Lifetime)
        {
            return hit.Plaintext;
        }

        // Throws for anything tampered, truncated or under an unknown key: nothing is stored then.
        var plaintext = inner.Unprotect(protectedData);
        if (_decrypted.Count >= MaxEntries)
        {
            _decrypted.Clear();
        }

        // The array is the caller's fresh decode of the cookie, never reused by YARP, so it can serve as the key.
        _decrypted[protectedData] = new Entry(plaintext, now);
        return plaintext;
    }

    private sealed record Entry(byte[] Plaintext, long Stored);

    private sealed class ByteContentComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteContentComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj);
            return hash.ToHashCode();
        }
    }
}
