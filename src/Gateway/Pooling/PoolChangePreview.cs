// What a reload would do to each cluster's pool, by the rules ClusterPoolFactory applies: YARP asks for a new client
// only when the cluster changed apart from its destinations, and the factory keeps the pool when the resolved pool
// settings and YARP's HttpClient block are unchanged.
using System.Text.Json.Nodes;
using Gateway.Foundation;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Pooling;

internal sealed class PoolChangePreview(ClusterPools pools, IEnumerable<IPoolHandlerSetup> handlerSetups) : IConfigChangePreview
{
    private readonly IPoolHandlerSetup[] _handlerSetups = handlerSetups.ToArray();

    public void Preview(ConfigChangeContext context, JsonObject changes)
    {
        var kept = new JsonArray();
        var rebuilt = new JsonArray();
        var created = new JsonArray();
        var retired = new JsonArray();
        var current = new Dictionary<string, ClusterConfig>(StringComparer.OrdinalIgnoreCase);
        foreach (var cluster in context.CurrentClusters)
        {
            current[cluster.ClusterId] = cluster;
        }

        foreach (var candidate in context.CandidateClusters)
        {
            if (!current.Remove(candidate.ClusterId, out var serving))
            {
                created.Add((JsonNode?)new JsonObject { ["cluster"] = candidate.ClusterId });
                continue;
            }

            var pool = pools.Current(candidate.ClusterId);
            var entry = new JsonObject { ["cluster"] = candidate.ClusterId, ["openConnections"] = pool?.Stats.ConnectionsOpen ?? 0 };
            if (pool is null || KeepsPool(serving, candidate, pool))
            {
                kept.Add((JsonNode?)entry);
            }
            else
            {
                entry["reason"] = "pool settings, HttpClient or Tls changed";
                rebuilt.Add((JsonNode?)entry);
            }
        }

        foreach (var (id, _) in current)
        {
            retired.Add((JsonNode?)new JsonObject { ["cluster"] = id, ["openConnections"] = pools.Current(id)?.Stats.ConnectionsOpen ?? 0 });
        }

        changes["pools"] = new JsonObject { ["kept"] = kept, ["rebuilt"] = rebuilt, ["created"] = created, ["retired"] = retired };
    }

    private bool KeepsPool(ClusterConfig serving, ClusterConfig candidate, ClusterInvoker pool)
    {
        if ((serving with { Destinations = null }) == (candidate with { Destinations = null }))
        {
            return true; // YARP keeps the cluster's client without asking the factory
        }

        var block = ConnectionPoolOptions.Block.Get(candidate.Metadata);
        var handlerSettings = new object?[_handlerSetups.Length];
        for (var i = 0; i < _handlerSetups.Length; i++)
        {
            handlerSettings[i] = _handlerSetups[i].Settings(candidate.ClusterId, candidate.Metadata);
        }

        return PoolSettings.Resolve(block.Own, block.Defaults, candidate.HttpClient) == pool.Settings && serving.HttpClient == candidate.HttpClient
            && ClusterPoolFactory.SameHandlerSettings(pool.HandlerSettings, handlerSettings);
    }
}
