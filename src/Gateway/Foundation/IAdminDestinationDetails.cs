namespace Gateway.Foundation;

/// <summary>
/// What a capability knows about one destination (e.g. draining, discovery source), added to its entry in
/// <c>GET /admin/clusters</c>. Keys are camelCase JSON property names.
/// </summary>
internal interface IAdminDestinationDetails
{
    void Describe(string clusterId, string destinationId, System.Text.Json.Nodes.JsonObject details);
}
