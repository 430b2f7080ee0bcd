// The admin API: the read-only cluster view, and the operations capabilities contribute through IAdminEndpoints.
using Gateway.Foundation;
using Gateway.Pooling;
using Yarp.ReverseProxy;

namespace Gateway.Management;

internal static class AdminEndpoints
{
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder management)
    {
        var admin = management.MapGroup("/admin").AddEndpointFilter<AdminAuthFilter>();
        admin.MapGet("/clusters", GetClusters);
        foreach (var endpoints in management.ServiceProvider.GetServices<IAdminEndpoints>())
        {
            endpoints.Map(admin);
        }

        return admin;
    }

    private static IResult GetClusters(IProxyStateLookup state, ClusterPools pools, IEnumerable<IAdminDestinationDetails> details, IEnumerable<IAdminClusterDetails> clusterDetails)
    {
        var clusters = new List<Dictionary<string, object?>>();
        foreach (var cluster in state.GetClusters())
        {
            var id = cluster.ClusterId;
            var destinations = new List<Dictionary<string, object?>>();
            foreach (var destination in cluster.Destinations.Values)
            {
                var entry = new Dictionary<string, object?>
                {
                    ["id"] = destination.DestinationId,
                    ["address"] = destination.Model.Config.Address,
                    ["health"] = new { active = destination.Health.Active.ToString(), passive = destination.Health.Passive.ToString() },
                    ["concurrentRequests"] = destination.ConcurrentRequestCount,
                };
                foreach (var contributor in details)
                {
                    contributor.Describe(id, destination.DestinationId, entry);
                }

                destinations.Add(entry);
            }

            var stats = pools.StatsFor(id);
            var current = pools.Current(id);
            var clusterEntry = new Dictionary<string, object?>
            {
                ["id"] = id,
                ["destinations"] = destinations,
                ["pool"] = new
                {
                    generation = current?.Generation,
                    settings = current?.Settings.ToAdminJson(),
                    inFlight = current?.InFlight ?? 0,
                    connectionsOpened = stats.ConnectionsOpened,
                    connectionsOpen = stats.ConnectionsOpen,
                    requests = stats.Requests,
                    requestsPerConnection = stats.ConnectionsOpened == 0 ? 0 : Math.Round((double)stats.Requests / stats.ConnectionsOpened, 2),
                },
            };
            foreach (var contributor in clusterDetails)
            {
                contributor.Describe(id, clusterEntry);
            }

            clusters.Add(clusterEntry);
        }

        var retiring = pools.RetiringPools.Select(p => new { cluster = p.ClusterId, generation = p.Generation, inFlight = p.InFlight });
        return Results.Ok(new { clusters, retiringPools = retiring });
    }
}
