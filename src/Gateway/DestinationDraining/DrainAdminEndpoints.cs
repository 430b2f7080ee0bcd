// POST /admin/clusters/{cluster}/destinations/{destination}/drain|undrain, on the admin group (Bearer filter applied).
using System.Text.Json.Nodes;
using Gateway.Foundation;
using Yarp.ReverseProxy;

namespace Gateway.DestinationDraining;

internal sealed class DrainAdminEndpoints : IAdminEndpoints
{
    public void Map(IEndpointRouteBuilder admin)
    {
        admin.MapPost("/clusters/{cluster}/destinations/{destination}/drain", Drain);
        admin.MapPost("/clusters/{cluster}/destinations/{destination}/undrain", Undrain);
    }

    private static async Task<IResult> Drain(string cluster, string destination, IProxyStateLookup state, DrainSync sync)
    {
        // Only destinations in the running config can be drained: a typo must not silently "succeed".
        if (!state.TryGetCluster(cluster, out var clusterState) || !clusterState.Destinations.TryGetValue(destination, out var destinationState))
        {
            return AdminJson.Result(new JsonObject { ["error"] = $"no destination '{destination}' in cluster '{cluster}'" }, StatusCodes.Status404NotFound);
        }

        return await Apply(new DrainMark(clusterState.ClusterId, destinationState.DestinationId), true, sync);
    }

    private static async Task<IResult> Undrain(string cluster, string destination, IProxyStateLookup state, DrainSync sync)
    {
        // Allowed for ids no longer in config, so a stale mark can always be cleared; canonical casing when known.
        var mark = state.TryGetCluster(cluster, out var clusterState) && clusterState.Destinations.TryGetValue(destination, out var destinationState)
            ? new DrainMark(clusterState.ClusterId, destinationState.DestinationId)
            : new DrainMark(cluster, destination);
        return await Apply(mark, false, sync);
    }

    private static async Task<IResult> Apply(DrainMark mark, bool draining, DrainSync sync) =>
        await sync.SetAsync(mark, draining) switch
        {
            DrainWriteResult.Applied => AdminJson.Result(new JsonObject { ["cluster"] = mark.ClusterId, ["destination"] = mark.DestinationId, ["draining"] = draining }, StatusCodes.Status200OK),
            _ => Results.Problem(
                detail: "Redis (Gateway:Redis) is unreachable, so the mark cannot be shared with the other replicas; nothing was changed. Retry when Redis is back.",
                statusCode: StatusCodes.Status503ServiceUnavailable),
        };
}
