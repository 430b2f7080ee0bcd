// The admin API: the read-only cluster view, and the operations capabilities contribute through IAdminEndpoints.
using System.Text.Json.Nodes;
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
        // JsonObject rather than anonymous types: no reflection-based serialization (Native AOT).
        var clusters = new JsonArray();
        foreach (var cluster in state.GetClusters())
        {
            var id = cluster.ClusterId;
            var destinations = new JsonArray();
            foreach (var destination in cluster.Destinations.Values)
            {
                var entry = new JsonObject
                {
                    ["id"] = destination.DestinationId,
                    ["address"] = destination.Model.Config.Address,
                    ["health"] = new JsonObject { ["active"] = destination.Health.Active.ToString(), ["passive"] = destination.Health.Passive.ToString() },
                    ["concurrentRequests"] = destination.ConcurrentRequestCount,
                };
                foreach (var contributor in details)
                {
                    contributor.Describe(id, destination.DestinationId, entry);
                }

                destinations.Add((JsonNode)entry);
            }

            var stats = pools.StatsFor(id);
            var current = pools.Current(id);
            var clusterEntry = new JsonObject
            {
                ["id"] = id,
                ["destinations"] = destinations,
                ["pool"] = new JsonObject
                {
                    ["generation"] = current?.Generation,
                    ["settings"] = current?.Settings.ToAdminJson(),
                    ["inFlight"] = current?.InFlight ?? 0,
                    ["connectionsOpened"] = stats.ConnectionsOpened,
                    ["connectionsOpen"] = stats.ConnectionsOpen,
                    ["requests"] = stats.Requests,
                    ["requestsPerConnection"] = stats.ConnectionsOpened == 0 ? 0 : Math.Round((double)stats.Requests / stats.ConnectionsOpened, 2),
                },
            };
            foreach (var contributor in clusterDetails)
            {
                contributor.Describe(id, clusterEntry);
            }

            clusters.Add((JsonNode)clusterEntry);
        }

        var retiring = new JsonArray();
        foreach (var pool in pools.RetiringPools)
        {
            retiring.Add((JsonNode)new JsonObject { ["cluster"] = pool.ClusterId, ["generation"] = pool.Generation, ["inFlight"] = pool.InFlight });
        }

        return AdminJson.Result(new JsonObject { ["clusters"] = clusters, ["retiringPools"] = retiring });
    }
}
