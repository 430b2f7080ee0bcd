// gateway.ratelimit.rejections {route, policy} and gateway.ratelimit.fallbacks {policy, mode}. Each route's policy
// exists at 0 from start or from the moment the route names it; with Redis configured, so does each shared policy's
// fallback mode, so the first decision without Redis shows in rate().
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy;

namespace Gateway.RateLimiting;

internal sealed class RateLimitMetrics
{
    private readonly Counter<long> _rejections;
    private readonly Counter<long> _fallbacks;
    private readonly RateLimitPolicies _policies;
    private readonly RedisRateLimitStore _store;

    public RateLimitMetrics(IMeterFactory meterFactory, RateLimitPolicies policies, RedisRateLimitStore store, KnownSeries knownSeries)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _rejections = meter.CreateCounter<long>("gateway.ratelimit.rejections", "{request}", "Requests rejected with 429, per route and policy.");
        _fallbacks = meter.CreateCounter<long>("gateway.ratelimit.fallbacks", "{request}", "Rate-limit decisions taken without Redis (Redis down or slow), per policy and FailureMode.");
        _policies = policies;
        _store = store;
        knownSeries.Add(Seed);
    }

    public void Rejected(string route, string policy) =>
        _rejections.Add(1, new TagList { { "route", route }, { "policy", policy } });

    public void Fallback(string policy, string mode) =>
        _fallbacks.Add(1, new TagList { { "policy", policy }, { "mode", mode } });

    private void Seed(IProxyStateLookup state)
    {
        foreach (var route in state.GetRoutes())
        {
            if (route.Config.RateLimiterPolicy is { } policy && _policies.IsRegistered(policy))
            {
                _rejections.Add(0, new TagList { { "route", route.Config.RouteId }, { "policy", policy } });
            }
        }

        if (!_store.IsConfigured)
        {
            return;
        }

        // Only policies that keep their counters in Redis can fall back (Concurrency stays per replica).
        foreach (var name in _policies.RegisteredNames)
        {
            var settings = _policies.Get(name);
            if (settings.IsShareable)
            {
                _fallbacks.Add(0, new TagList { { "policy", name }, { "mode", settings.ModeTag } });
            }
        }
    }
}
