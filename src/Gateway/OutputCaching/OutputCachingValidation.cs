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
    public void Check(IConfiguration candidate, ICollection<string> errors) => policies.CheckRoutes(candidate, errors);
}
