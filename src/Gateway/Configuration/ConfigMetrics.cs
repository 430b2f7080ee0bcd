using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;

namespace Gateway.Configuration;

internal sealed class ConfigMetrics
{
    private readonly Counter<long> _reloads;

    public ConfigMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _reloads = meter.CreateCounter<long>("gateway.config.reloads", "{reload}", "Config file reloads, by result (success, rejected).");
    }

    public void ConfigReload(bool success) =>
        _reloads.Add(1, new TagList { { "result", success ? "success" : "rejected" } });
}
