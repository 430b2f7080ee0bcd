// gateway.config.reloads {result}: both results exist at 0 from start, so the first rejected reload shows in increase().
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy;

namespace Gateway.Configuration;

internal sealed class ConfigMetrics
{
    private const string Success = "success";
    private const string Rejected = "rejected";

    private readonly Counter<long> _reloads;

    public ConfigMetrics(IMeterFactory meterFactory, KnownSeries knownSeries)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _reloads = meter.CreateCounter<long>("gateway.config.reloads", "{reload}", "Config file reloads, by result (success, rejected).");
        knownSeries.Add(Seed);
    }

    public void ConfigReload(bool success) =>
        _reloads.Add(1, new TagList { { "result", success ? Success : Rejected } });

    private void Seed(IProxyStateLookup state)
    {
        _reloads.Add(0, new TagList { { "result", Success } });
        _reloads.Add(0, new TagList { { "result", Rejected } });
    }
}
