using System.Text.Json.Nodes;
using Gateway.Foundation;
using Gateway.SharedState;

namespace Gateway.OutputCaching;

/// <summary>The output-cache policy names registered at start, and where entries are kept.</summary>
internal sealed class OutputCacheSummaryPart(OutputCachePolicies policies, SharedRedis redis) : IStartupSummaryPart
{
    public void Describe(JsonObject summary)
    {
        var names = new JsonArray();
        foreach (var name in policies.RegisteredNames)
        {
            names.Add((JsonNode?)name);
        }

        summary["outputCache"] = new JsonObject { ["policies"] = names, ["store"] = redis.IsConfigured ? "redis" : "memory" };
    }
}
