// gateway.discovery.endpoints {cluster, condition}, gateway.discovery.updates {cluster, result} and
// gateway.discovery.errors {cluster}: read at scrape time from each cluster's provider, nothing recorded per request.
using System.Diagnostics.Metrics;
using Gateway.Foundation;

namespace Gateway.Discovery;

internal sealed class DiscoveryMetrics
{
    private static readonly (EndpointCondition Condition, string Name)[] Conditions =
        [(EndpointCondition.Ready, "ready"), (EndpointCondition.Draining, "draining"), (EndpointCondition.NotReady, "not_ready")];

    public DiscoveryMetrics(IMeterFactory meterFactory, DiscoveryManager discovery)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        meter.CreateObservableGauge("gateway.discovery.endpoints", () => ObserveEndpoints(discovery), "{endpoint}",
            "Discovered endpoints per cluster by condition: ready (in rotation), draining (terminating, keeps pinned sessions), not_ready (out of rotation).");
        meter.CreateObservableCounter("gateway.discovery.updates", () => ObserveUpdates(discovery), "{update}",
            "Discovery results per cluster: applied (a new endpoint set went to YARP), failed (an API or DNS error, or a set refused; the last set kept serving).");
        meter.CreateObservableCounter("gateway.discovery.errors", () => ObserveErrors(discovery), "{error}",
            "Failed discovery attempts per cluster (API server or DNS unreachable, RBAC denied, a port the Service lacks, no credentials).");
    }

    private static IEnumerable<Measurement<int>> ObserveEndpoints(DiscoveryManager discovery)
    {
        foreach (var cluster in discovery.Clusters)
        {
            var conditions = cluster.Current.Conditions;
            foreach (var (condition, name) in Conditions)
            {
                var count = 0;
                foreach (var value in conditions.Values)
                {
                    if (value == condition)
                    {
                        count++;
                    }
                }

                yield return new Measurement<int>(count, new("cluster", cluster.ClusterId), new("condition", name));
            }
        }
    }

    private static IEnumerable<Measurement<long>> ObserveUpdates(DiscoveryManager discovery)
    {
        foreach (var cluster in discovery.Clusters)
        {
            var status = cluster.Provider?.Status;
            yield return new Measurement<long>(status?.UpdatesApplied ?? 0, new("cluster", cluster.ClusterId), new("result", "applied"));
            yield return new Measurement<long>(Failures(cluster, status), new("cluster", cluster.ClusterId), new("result", "failed"));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveErrors(DiscoveryManager discovery)
    {
        foreach (var cluster in discovery.Clusters)
        {
            yield return new Measurement<long>(Failures(cluster, cluster.Provider?.Status), new KeyValuePair<string, object?>("cluster", cluster.ClusterId));
        }
    }

    private static long Failures(ClusterDiscovery cluster, DiscoveryStatus? status) =>
        (status?.UpdatesFailed ?? 0) + (cluster.StartError is null ? 0 : 1);
}
