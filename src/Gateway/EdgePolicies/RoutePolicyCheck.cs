// Gap in YARP: its validator accepts "AuthorizationPolicy": "Default" or "CorsPolicy": "Default" with no policy behind
// them, and the route then answers 500 to every request. Until policies can be defined in config, only the values that
// need none are accepted.
using Gateway.Foundation;

namespace Gateway.EdgePolicies;

internal sealed class RoutePolicyCheck : IGatewayConfigCheck
{
    public void Check(IConfiguration candidate, ICollection<string> errors)
    {
        foreach (var route in candidate.GetSection($"{ExtensionBlock.ReverseProxySection}:Routes").GetChildren())
        {
            Refuse(route, "AuthorizationPolicy", "Anonymous", "authorization policies cannot be defined in the gateway's config yet", errors);
            Refuse(route, "CorsPolicy", "Disable", "CORS policies cannot be defined in the gateway's config yet", errors);
        }
    }

    private static void Refuse(IConfigurationSection route, string key, string? allowed, string why, ICollection<string> errors)
    {
        var value = route[key];
        if (string.IsNullOrEmpty(value) || string.Equals(value, allowed, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var accepted = allowed is null ? string.Empty : $" (only \"{allowed}\" is accepted)";
        errors.Add(ConfigErrors.Invalid(ConfigurationPath.Combine(route.Path, key), value, why + accepted));
    }
}
