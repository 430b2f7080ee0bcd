// gateway.ejections {cluster, destination}; tag values are config ids.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;

namespace Gateway.PassiveHealth;

internal sealed class PassiveHealthMetrics
{
    private readonly Counter<long> _ejections;

    public PassiveHealthMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _ejections = meter.CreateCounter<long>("gateway.ejections", "{ejection}", "Destinations taken out of rotation by the passive ConsecutiveFailures policy.");
    }

    public void Ejected(string cluster, string destination)
    {
        var tags = new TagList { { "cluster", cluster }, { "destination", destination } };
        _ejections.Add(1, tags);
    }
}
