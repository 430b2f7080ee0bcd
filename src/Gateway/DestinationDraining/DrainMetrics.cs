// gateway.destination.draining {cluster, destination}: read at scrape time, nothing recorded per request.
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy;

namespace Gateway.DestinationDraining;

internal sealed class DrainMetrics
{
    public DrainMetrics(IMeterFactory meterFactory, DestinationDrain drain, IProxyStateLookup proxyState)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        meter.CreateObservableGauge(
            "gateway.destination.draining",
            () => ObserveDraining(drain, proxyState),
            "{destination}",
            "1 while a destination is draining (an admin API mark, or a pod that is terminating): it keeps its pinned sessions and takes no new ones; else 0.");
    }

    // Every configured destination reports 0 or 1, so dashboards see the series before the first drain.
    private static IEnumerable<Measurement<int>> ObserveDraining(DestinationDrain drain, IProxyStateLookup proxyState)
    {
        foreach (var cluster in proxyState.GetClusters())
        {
            foreach (var destination in cluster.Destinations.Values)
            {
                yield return new Measurement<int>(
                    drain.IsDraining(cluster.ClusterId, destination.DestinationId) ? 1 : 0,
                    new KeyValuePair<string, object?>("cluster", cluster.ClusterId),
                    new KeyValuePair<string, object?>("destination", destination.DestinationId));
            }
        }
    }
}
