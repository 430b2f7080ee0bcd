using System.Text.Json.Nodes;
using Gateway.Foundation;

namespace Gateway.Discovery;

/// <summary>In <c>GET /admin/clusters</c>: a discovered destination's source and condition, and each cluster's discovery status.</summary>
internal sealed class DiscoveryAdminDetails(DiscoveryManager discovery) : IAdminDestinationDetails, IAdminClusterDetails
{
    public void Describe(string clusterId, string destinationId, JsonObject details)
    {
        if (discovery.TryGet(clusterId, out var cluster) && cluster.Current.Conditions.TryGetValue(destinationId, out var condition))
        {
            details["source"] = cluster.Provider?.Source;
            details["condition"] = cluster.Current.Draining.Contains(destinationId) ? "draining" : condition == EndpointCondition.Ready ? "ready" : "not_ready";
        }
    }

    public void Describe(string clusterId, JsonObject details)
    {
        if (!discovery.TryGet(clusterId, out var cluster))
        {
            return;
        }

        var status = cluster.Provider?.Status;
        details["discovery"] = new JsonObject
        {
            ["source"] = status?.Source,
            ["target"] = status?.Target,
            ["synced"] = status?.HasSynced ?? false,
            ["endpoints"] = status?.EndpointCount ?? 0,
            ["updatesApplied"] = status?.UpdatesApplied ?? 0,
            ["updatesFailed"] = status?.UpdatesFailed ?? 0,
            ["consecutiveFailures"] = status?.ConsecutiveFailures ?? 0,
            ["lastError"] = cluster.StartError ?? status?.LastError,
            ["lastErrorAt"] = status?.LastErrorAt,
            ["lastSuccessAt"] = status?.LastSuccessAt,
        };
    }
}
