// The affinity cookie decryption YARP performs per request: Data Protection's own protector vs the gateway's cache
// (Affinity/AffinityCookieCache.cs). The cached path must allocate nothing.
// Run: tests/Gateway.Benchmarks/run.sh micro --filter '*AffinityCookieBenchmarks*'
using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Affinity;
using Microsoft.AspNetCore.DataProtection;

namespace Gateway.Benchmarks.Micro;

[MemoryDiagnoser]
public class AffinityCookieBenchmarks
{
    private const string Purpose = "Yarp.ReverseProxy.SessionAffinity.CookieSessionAffinityPolicy";

    private IDataProtector _uncached = null!;
    private IDataProtector _cached = null!;
    private byte[] _cookie = null!;

    [GlobalSetup]
    public void Setup()
    {
        var provider = new EphemeralDataProtectionProvider();
        _uncached = provider.CreateProtector(Purpose);
        var ring = new KeyRingState(TimeProvider.System);
        ring.MarkLoaded();
        _cached = new AffinityCookieProtectionProvider(provider, ring, TimeProvider.System).CreateProtector(Purpose);
        _cookie = _uncached.Protect(Encoding.UTF8.GetBytes("destination-1"));
        _cached.Unprotect(_cookie);
    }

    [Benchmark(Baseline = true, Description = "Data Protection Unprotect (what YARP does per request)")]
    public byte[] Uncached() => _uncached.Unprotect(_cookie);

    [Benchmark(Description = "gateway cache, returning client")]
    public byte[] Cached() => _cached.Unprotect(_cookie);
}
