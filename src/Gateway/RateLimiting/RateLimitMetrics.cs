using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;

namespace Gateway.RateLimiting;

internal sealed class RateLimitMetrics
{
    private readonly Counter<long> _rejections;
    private readonly Counter<long> _fallbacks;

    public RateLimitMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _rejections = meter.CreateCounter<long>("gateway.ratelimit.rejections", "{request}", "Requests rejected with 429, per route and policy.");
        _fallbacks = meter.CreateCounter<long>("gateway.ratelimit.fallbacks", "{request}", "Rate-limit decisions taken without Redis (Redis down or slow), per policy and FailureMode.");
    }

    public void Rejected(string route, string policy) =>
        _rejections.Add(1, new TagList { { "route", route }, { "policy", policy } });

    public void Fallback(string policy, string mode) =>
        _fallbacks.Add(1, new TagList { { "policy", policy }, { "mode", mode } });
}
