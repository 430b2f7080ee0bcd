// Gap in YARP: its validator accepts an "OutputCachePolicy" with no policy behind it, and the route then answers 500 to
// every request. Until output-cache policies can be defined in config, the key is refused.
using Gateway.Foundation;

namespace Gateway.EdgePolicies;

internal sealed class RoutePolicyCheck : IGatewayConfigCheck
{
    public void Check(IConfiguration candidate, ICollection<string> errors)
    {
        foreach (var route in candidate.GetSection($"{ExtensionBlock.ReverseProxySection}:Routes").GetChildren())
        {
            Refuse(route, "OutputCachePolicy", allowed: null, "output caching cannot be configured in the gateway yet; remove the key", errors);
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
