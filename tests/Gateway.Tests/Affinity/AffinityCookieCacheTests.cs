using System.Security.Cryptography;
using System.Text;
using Gateway.Affinity;
using Microsoft.AspNetCore.DataProtection;

namespace Gateway.Tests.Affinity;

public sealed class AffinityCookieCacheTests
{
    private const string YarpCookiePurpose = "Yarp.ReverseProxy.SessionAffinity.CookieSessionAffinityPolicy";

    private readonly CountingProvider _inner = new(new EphemeralDataProtectionProvider());
    private readonly ManualTime _time = new();

    private IDataProtector Protector(string purpose) => new AffinityCookieProtectionProvider(_inner, Loaded(_time), _time).CreateProtector(purpose);

    private static KeyRingState Loaded(TimeProvider time)
    {
        var state = new KeyRingState(time);
        state.MarkLoaded();
        return state;
    }

    [Fact]
    public void BeforeTheKeyRingLoads_CookiesUseALocalKey_AndAfterwards_OnlyTheSharedRing()
    {
        var state = new KeyRingState(_time);
        var provider = new AffinityCookieProtectionProvider(_inner, state, _time);
        var protector = provider.CreateProtector(YarpCookiePurpose);
        var sharedCookie = _inner.CreateProtector(YarpCookiePurpose).Protect(Encoding.UTF8.GetBytes("shared"));

        var localCookie = protector.Protect(Encoding.UTF8.GetBytes("d1"));
        Assert.Equal("d1", Encoding.UTF8.GetString(protector.Unprotect(localCookie.ToArray())));
        Assert.Equal(0, _inner.Unprotects); // the unreachable shared ring is never asked
        Assert.ThrowsAny<CryptographicException>(() => _inner.CreateProtector(YarpCookiePurpose).Unprotect(localCookie));

        state.MarkLoaded();

        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(localCookie.ToArray())); // re-pinned under the shared ring
        Assert.Equal("shared", Encoding.UTF8.GetString(protector.Unprotect(sharedCookie.ToArray())));
        Assert.Equal("d2", Encoding.UTF8.GetString(_inner.CreateProtector(YarpCookiePurpose).Unprotect(protector.Protect(Encoding.UTF8.GetBytes("d2")))));
    }

    [Fact]
    public void TheWarmupPurpose_AlwaysReachesTheSharedRing()
    {
        var provider = new AffinityCookieProtectionProvider(_inner, new KeyRingState(_time), _time);
        var cookie = provider.CreateProtector(KeyRing.WarmupPurpose).Protect([1]);

        Assert.Equal([1], _inner.CreateProtector(KeyRing.WarmupPurpose).Unprotect(cookie));
    }

    [Fact]
    public void SameCookie_IsDecryptedOnce_AndEveryCallGetsTheDestinationKey()
    {
        var protector = Protector(YarpCookiePurpose);
        var cookie = protector.Protect(Encoding.UTF8.GetBytes("d1"));

        for (var i = 0; i < 100; i++)
        {
            // YARP decodes the cookie into a fresh array on every request.
            Assert.Equal("d1", Encoding.UTF8.GetString(protector.Unprotect(cookie.ToArray())));
        }

        Assert.Equal(1, _inner.Unprotects);
    }

    [Fact]
    public void TamperedCookie_StillThrows_AndIsNeverServedFromTheCache()
    {
        var protector = Protector(YarpCookiePurpose);
        var cookie = protector.Protect(Encoding.UTF8.GetBytes("d1"));
        Assert.Equal("d1", Encoding.UTF8.GetString(protector.Unprotect(cookie.ToArray())));

        var tampered = cookie.ToArray();
        tampered[^1] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(tampered));
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(tampered.ToArray()));
        Assert.Equal(3, _inner.Unprotects);
    }

    [Fact]
    public void CachedDecryption_ExpiresAfterItsLifetime_SoARevokedKeyStopsBeingHonoured()
    {
        var protector = Protector(YarpCookiePurpose);
        var cookie = protector.Protect(Encoding.UTF8.GetBytes("d1"));
        protector.Unprotect(cookie.ToArray());

        _time.Advance(CachingUnprotector.Lifetime - TimeSpan.FromSeconds(1));
        protector.Unprotect(cookie.ToArray());
        Assert.Equal(1, _inner.Unprotects);

        _time.Advance(TimeSpan.FromSeconds(2));
        protector.Unprotect(cookie.ToArray());
        Assert.Equal(2, _inner.Unprotects);
    }

    [Fact]
    public void Cache_IsBounded_WhateverNumberOfValidCookiesClientsSend()
    {
        var protector = new CachingUnprotector(_inner.CreateProtector(YarpCookiePurpose), _time);
        for (var i = 0; i < CachingUnprotector.MaxEntries + 10; i++)
        {
            protector.Unprotect(protector.Protect(BitConverter.GetBytes(i)));
        }

        Assert.InRange(protector.Count, 1, CachingUnprotector.MaxEntries);
    }

    [Fact]
    public void OtherPurposes_GetTheFrameworksProtector_Uncached()
    {
        var protector = Protector("Gateway.Affinity.KeyRingWarmup");
        var data = protector.Protect([1, 2, 3]);
        protector.Unprotect(data.ToArray());
        protector.Unprotect(data.ToArray());

        Assert.IsNotType<CachingUnprotector>(protector);
        Assert.Equal(2, _inner.Unprotects);
    }

    private sealed class CountingProvider(IDataProtectionProvider inner) : IDataProtectionProvider
    {
        public int Unprotects;

        public IDataProtector CreateProtector(string purpose) => new Counting(inner.CreateProtector(purpose), this);

        private sealed class Counting(IDataProtector inner, CountingProvider owner) : IDataProtector
        {
            public IDataProtector CreateProtector(string purpose) => inner.CreateProtector(purpose);

            public byte[] Protect(byte[] plaintext) => inner.Protect(plaintext);

            public byte[] Unprotect(byte[] protectedData)
            {
                Interlocked.Increment(ref owner.Unprotects);
                return inner.Unprotect(protectedData);
            }
        }
    }
}
