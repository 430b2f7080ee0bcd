// Key-path checks for policies, and for routes that name them; both run at start and before every reload is accepted.
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.OutputCaching;

internal sealed class OutputCachingOptionsValidator : IValidateOptions<OutputCachingOptions>
{
    private static readonly TimeSpan MaxExpire = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, OutputCachingOptions options)
    {
        var errors = new List<string>();
        foreach (var (policyName, policy) in options.Policies)
        {
            var path = $"{OutputCachingOptions.SectionPath}:Policies:{policyName}";
            if (policy.Expire < TimeSpan.FromSeconds(1) || policy.Expire > MaxExpire)
            {
                errors.Add(ConfigErrors.Invalid($"{path}:Expire", policy.Expire.ToString(), "must be between 00:00:01 and 1.00:00:00"));
            }

            CheckNames(policy.VaryByQuery, $"{path}:VaryByQuery", "a query key", errors);
            CheckNames(policy.VaryByHeader, $"{path}:VaryByHeader", "a header name", errors);
        }

        return ConfigErrors.ToResult(errors);
    }

    private static void CheckNames(string[]? names, string path, string what, List<string> errors)
    {
        for (var i = 0; i < (names?.Length ?? 0); i++)
        {
            var value = names![i];
            if (string.IsNullOrWhiteSpace(value) || value.AsSpan().ContainsAny(" \t\r\n:"))
            {
                errors.Add(ConfigErrors.Invalid($"{path}:{i}", value, $"is not {what}"));
            }
        }
    }
}

/// <summary>
/// A route's <c>OutputCachePolicy</c> must name a policy present at start. ASP.NET Core's output-cache options are built
/// once (the named-policy map is internal), so a name added on reload would pass YARP's check only after a restart and
/// until then cache nothing; we say so instead.
/// </summary>
internal sealed class RouteOutputCachePolicyCheck(OutputCachePolicies policies) : IGatewayConfigCheck
{
    public void Check(IConfiguration candidate, ICollection<string> errors)
    {
        var defined = new List<string>();
        foreach (var policy in candidate.GetSection($"{OutputCachingOptions.SectionPath}:Policies").GetChildren())
        {
            defined.Add(policy.Key);
            // The binder skips a dictionary entry it cannot bind instead of failing; bind each policy alone to report it.
            try
            {
                policy.Get<OutputCachePolicyOptions>();
            }
            catch (InvalidOperationException ex)
            {
                errors.Add(ConfigErrors.FromBinder(ex, candidate, policy.Path));
            }
        }

        foreach (var route in candidate.GetSection($"{ExtensionBlock.ReverseProxySection}:Routes").GetChildren())
        {
            var section = route.GetSection("OutputCachePolicy");
            var name = section.Value;
            if (string.IsNullOrEmpty(name))
            {
                continue;
            }

            if (!defined.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                var known = defined.Count == 0 ? "none defined" : "known: " + string.Join(", ", defined.Order(StringComparer.OrdinalIgnoreCase));
                errors.Add(ConfigErrors.Invalid(section.Path, name, $"names no policy under {OutputCachingOptions.SectionPath}:Policies ({known})"));
            }
            else if (!policies.IsRegistered(name))
            {
                errors.Add(ConfigErrors.Invalid(section.Path, name, "is a policy added after the gateway started; new policy names take effect after a restart (changed settings of existing policies reload)"));
            }
        }
    }
}
