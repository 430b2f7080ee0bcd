using System.Text.Json.Nodes;
using Gateway.Foundation;

namespace Gateway.RateLimiting;

/// <summary>The rate-limit policy names registered at start.</summary>
internal sealed class RateLimitSummaryPart(RateLimitPolicies policies) : IStartupSummaryPart
{
    public void Describe(JsonObject summary)
    {
        var names = new JsonArray();
        foreach (var name in policies.RegisteredNames)
        {
            names.Add((JsonNode?)name);
        }

        summary["rateLimitPolicies"] = names;
    }
}
