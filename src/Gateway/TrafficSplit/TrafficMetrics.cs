// gateway.split.requests {route, cluster}; gateway.mirror.requests {route, cluster, result}. Tag values are config ids
// or fixed strings.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;

namespace Gateway.TrafficSplit;

internal sealed class TrafficMetrics
{
    public const string Sent = "sent";
    public const string Failed = "failed";
    public const string Dropped = "dropped";
    public const string BodyTooLarge = "body_too_large";

    private readonly Counter<long> _split;
    private readonly Counter<long> _mirror;

    public TrafficMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _split = meter.CreateCounter<long>("gateway.split.requests", "{request}", "Requests of routes with a Split block, by the cluster that served them.");
        _mirror = meter.CreateCounter<long>("gateway.mirror.requests", "{request}",
            "Mirrored copies by route, shadow cluster and result: sent (the shadow answered, whatever its status), failed, dropped (too many copies in flight), body_too_large (not mirrored).");
    }

    public void SplitRequest(string route, string cluster) => _split.Add(1, new TagList { { "route", route }, { "cluster", cluster } });

    public void Mirror(string route, string cluster, string result) =>
        _mirror.Add(1, new TagList { { "route", route }, { "cluster", cluster }, { "result", result } });
}
