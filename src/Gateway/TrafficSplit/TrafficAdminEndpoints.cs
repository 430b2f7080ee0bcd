using System.Text.Json.Nodes;
using Gateway.Foundation;
using Yarp.ReverseProxy;

namespace Gateway.TrafficSplit;

/// <summary><c>GET /admin/splits</c>: each route's split (weights and the share observed since the config was applied) and mirror.</summary>
internal sealed class TrafficAdminEndpoints : IAdminEndpoints
{
    public void Map(IEndpointRouteBuilder admin) => admin.MapGet("/splits", (IProxyStateLookup lookup, SplitStep split, MirrorSender mirror) =>
    {
        var routes = new JsonArray();
        foreach (var route in lookup.GetRoutes())
        {
            var config = route.Config;
            var splitOptions = SplitOptions.Block.Get(config.Metadata).Own;
            var mirrorOptions = MirrorOptions.Block.Get(config.Metadata).Own;
            if (splitOptions is null && mirrorOptions is null)
            {
                continue;
            }

            var entry = new JsonObject { ["route"] = config.RouteId, ["fallback"] = config.ClusterId };
            if (splitOptions is not null)
            {
                var plan = split.PlanFor(splitOptions);
                long total = 0;
                if (plan is not null)
                {
                    for (var i = 0; i < plan.Arms.Length; i++)
                    {
                        total += plan.ServedBy(i);
                    }

                    total += plan.ServedOutside;
                }

                var arms = new JsonArray();
                foreach (var (cluster, weight) in splitOptions.Clusters)
                {
                    var served = plan is null ? 0 : plan.ServedBy(plan.IndexOf(cluster));
                    arms.Add((JsonNode?)new JsonObject
                    {
                        ["cluster"] = cluster,
                        ["weight"] = weight,
                        ["served"] = served,
                        ["observedShare"] = total == 0 ? null : Math.Round((double)served / total, 4),
                    });
                }

                entry["split"] = new JsonObject
                {
                    ["sticky"] = splitOptions.Sticky,
                    ["arms"] = arms,
                    ["servedByFallback"] = plan?.ServedOutside ?? 0,
                    ["header"] = splitOptions.Header?.Name,
                    ["cookie"] = splitOptions.Cookie?.Name,
                };
            }

            if (mirrorOptions is not null)
            {
                entry["mirror"] = new JsonObject
                {
                    ["cluster"] = mirrorOptions.ClusterId,
                    ["percent"] = mirrorOptions.Percent,
                    ["maxBodyBytes"] = mirrorOptions.MaxBodyBytes,
                    ["inFlight"] = mirror.InFlight(mirrorOptions.ClusterId!),
                    ["maxConcurrent"] = mirrorOptions.MaxConcurrent,
                };
            }

            routes.Add((JsonNode?)entry);
        }

        return AdminJson.Result(new JsonObject { ["routes"] = routes });
    });
}
