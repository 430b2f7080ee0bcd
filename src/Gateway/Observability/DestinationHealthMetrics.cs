// gateway.destination.health: read when Prometheus scrapes, nothing recorded per request.
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace Gateway.Observability;

internal sealed class DestinationHealthMetrics
{
    public DestinationHealthMetrics(IMeterFactory meterFactory, IProxyStateLookup proxyState)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        meter.CreateObservableGauge("gateway.destination.health", () => ObserveHealth(proxyState), unit: null,
            "1 when a destination may receive traffic (healthy or not yet probed, actively and passively), 0 when unhealthy.");
    }

    // YARP exposes destination health only through IProxyStateLookup; this turns it into one series per configured
    // destination. The same rule as YARP's default HealthyAndUnknown availability policy.
    private static IEnumerable<Measurement<int>> ObserveHealth(IProxyStateLookup proxyState)
    {
        foreach (var cluster in proxyState.GetClusters())
        {
            foreach (var destination in cluster.Destinations.Values)
            {
                var health = destination.Health;
                var available = health.Active != DestinationHealth.Unhealthy && health.Passive != DestinationHealth.Unhealthy;
                yield return new Measurement<int>(
                    available ? 1 : 0,
                    new KeyValuePair<string, object?>("cluster", cluster.ClusterId),
                    new KeyValuePair<string, object?>("destination", destination.DestinationId));
            }
        }
    }
}
