// gateway.ejections {cluster, destination}; tag values are config ids. Every cluster can eject (at the socket, for a
// refused connect, whatever its passive policy), so each configured destination exists at 0 from start or from the
// moment it appears. Discovered destinations do not (pods come and go: a 0 series for every pod ever seen would grow
// without bound); theirs appear at the first ejection.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy;

namespace Gateway.PassiveHealth;

internal sealed class PassiveHealthMetrics
{
    private readonly Counter<long> _ejections;
    private readonly KnownSeries _knownSeries;

    public PassiveHealthMetrics(IMeterFactory meterFactory, KnownSeries knownSeries)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _ejections = meter.CreateCounter<long>("gateway.ejections", "{ejection}", "Destinations taken out of rotation: by the ConsecutiveFailures passive policy, or at the socket for a refused connect under any passive policy.");
        _knownSeries = knownSeries;
        knownSeries.Add(Seed);
    }

    public void Ejected(string cluster, string destination)
    {
        var tags = new TagList { { "cluster", cluster }, { "destination", destination } };
        _ejections.Add(1, tags);
    }

    private void Seed(IProxyStateLookup state)
    {
        foreach (var cluster in state.GetClusters())
        {
            foreach (var destination in cluster.Destinations.Values)
            {
                if (_knownSeries.IsConfigured(cluster.ClusterId, destination.DestinationId))
                {
                    _ejections.Add(0, new TagList { { "cluster", cluster.ClusterId }, { "destination", destination.DestinationId } });
                }
            }
        }
    }
}
