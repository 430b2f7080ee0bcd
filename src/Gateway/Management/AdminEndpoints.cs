// The admin API: read-only views of clusters and pools, and the operations other capabilities add.
using Gateway.Affinity;
using Gateway.Configuration;
using Gateway.Draining;
using Gateway.Pooling;
using Yarp.ReverseProxy;

namespace Gateway.Management;

internal static class AdminEndpoints
{
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder management)
    {
        var admin = management.MapGroup("/admin").AddEndpointFilter<AdminAuthFilter>();
        admin.MapGet("/clusters", GetClusters);
        admin.MapDestinationDrain();
        admin.MapGet("/config", (GatewayConfigStore store) => Results.Ok(new { path = store.Path, generation = store.Generation }));

        // Starts the same shutdown sequence as SIGTERM (readiness 503 at once, then drain and exit 0).
        admin.MapPost("/drain", (ShutdownSequence shutdown, IHostApplicationLifetime lifetime) =>
        {
            shutdown.BeginDraining("POST /admin/drain");
            lifetime.StopApplication();
            return Results.Accepted();
        });
        return admin;
    }

    private static IResult GetClusters(IProxyStateLookup state, ClusterPools pools, DestinationDrain drain)
    {
        var clusters = new List<object>();
        foreach (var cluster in state.GetClusters())
        {
            var id = cluster.ClusterId;
            var destinations = new List<object>();
            foreach (var destination in cluster.Destinations.Values)
            {
                destinations.Add(new
                {
                    id = destination.DestinationId,
                    address = destination.Model.Config.Address,
                    health = new { active = destination.Health.Active.ToString(), passive = destination.Health.Passive.ToString() },
                    concurrentRequests = destination.ConcurrentRequestCount,
                    draining = drain.IsDraining(id, destination.DestinationId),
                });
            }

            var stats = pools.StatsFor(id);
            var current = pools.Current(id);
            clusters.Add(new
            {
                id,
                destinations,
                pool = new
                {
                    generation = current?.Generation,
                    settings = current?.Settings,
                    inFlight = current?.InFlight ?? 0,
                    connectionsOpened = stats.ConnectionsOpened,
                    connectionsOpen = stats.ConnectionsOpen,
                    requests = stats.Requests,
                    requestsPerConnection = stats.ConnectionsOpened == 0 ? 0 : Math.Round((double)stats.Requests / stats.ConnectionsOpened, 2),
                },
            });
        }

        var retiring = pools.RetiringPools.Select(p => new { cluster = p.ClusterId, generation = p.Generation, inFlight = p.InFlight });
        return Results.Ok(new { clusters, retiringPools = retiring });
    }
}
