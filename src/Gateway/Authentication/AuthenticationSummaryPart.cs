using System.Text.Json.Nodes;
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Authentication;

/// <summary>The schemes (name and issuer source) and the authorization policy names in force.</summary>
internal sealed class AuthenticationSummaryPart(
    IOptionsMonitor<GatewayAuthenticationOptions> schemes,
    IOptionsMonitor<GatewayAuthorizationOptions> policies) : IStartupSummaryPart
{
    public void Describe(JsonObject summary)
    {
        var schemeList = new JsonArray();
        foreach (var (name, scheme) in schemes.CurrentValue.Schemes)
        {
            schemeList.Add((JsonNode?)$"{name} ({scheme.JwksUri ?? scheme.MetadataAddress ?? scheme.Authority})");
        }

        var policyList = new JsonArray();
        foreach (var name in policies.CurrentValue.Policies.Keys)
        {
            policyList.Add((JsonNode?)name);
        }

        summary["authenticationSchemes"] = schemeList;
        summary["authorizationPolicies"] = policyList;
    }
}
