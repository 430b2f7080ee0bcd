using System.Text.Json.Nodes;
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Cors;

/// <summary>The CORS policy names in force.</summary>
internal sealed class CorsSummaryPart(IOptionsMonitor<GatewayCorsOptions> options) : IStartupSummaryPart
{
    public void Describe(JsonObject summary)
    {
        var names = new JsonArray();
        foreach (var name in options.CurrentValue.Policies.Keys)
        {
            names.Add((JsonNode?)name);
        }

        summary["corsPolicies"] = names;
    }
}
