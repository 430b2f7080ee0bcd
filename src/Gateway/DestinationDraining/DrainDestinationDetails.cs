using Gateway.Foundation;

namespace Gateway.DestinationDraining;

/// <summary>Adds <c>draining</c> to each destination in <c>GET /admin/clusters</c>.</summary>
internal sealed class DrainDestinationDetails(DestinationDrain drain) : IAdminDestinationDetails
{
    public void Describe(string clusterId, string destinationId, System.Text.Json.Nodes.JsonObject details) =>
        details["draining"] = drain.IsDraining(clusterId, destinationId);
}
