namespace Gateway.Foundation;

/// <summary>What a capability knows about one cluster (e.g. its discovery status), added to its entry in <c>GET /admin/clusters</c>.</summary>
internal interface IAdminClusterDetails
{
    void Describe(string clusterId, System.Text.Json.Nodes.JsonObject details);
}
