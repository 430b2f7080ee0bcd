// Key-path checks for policies, and for routes that name them; both run at start and before every reload is accepted.
using System.Globalization;
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.RateLimiting;

internal sealed class RateLimitingOptionsValidator : IValidateOptions<RateLimitingOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitingOptions options)
    {
        var errors = new List<string>();
        foreach (var (policyName, policy) in options.Policies)
        {
            Validate(policyName, policy, errors);
        }

        return ConfigErrors.ToResult(errors);
    }

    public static void Validate(string policyName, RateLimitPolicyOptions policy, ICollection<string> errors)
    {
        var path = $"{RateLimitingOptions.SectionPath}:Policies:{policyName}";
        if (IsReservedName(policyName))
        {
            errors.Add($"{path}: '{policyName}' is reserved by YARP (a route's RateLimiterPolicy \"Default\" uses the global limiter, \"Disable\" none); choose another name");
        }

        if (policy.PermitLimit < 1)
        {
            errors.Add(Invalid(path, "PermitLimit", policy.PermitLimit, "must be at least 1"));
        }

        if (!PartitionSpec.TryParse(policy.PartitionBy, out _))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:PartitionBy", policy.PartitionBy, "is not ClientIp, Route or Header:<name> (e.g. \"Header:X-Api-Key\")"));
        }

        if (!Enum.IsDefined(policy.Algorithm))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:Algorithm", policy.Algorithm.ToString(), "is not FixedWindow, SlidingWindow, TokenBucket or Concurrency"));
        }

        if (!Enum.IsDefined(policy.FailureMode))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:FailureMode", policy.FailureMode.ToString(), "is not Local, Open or Closed"));
        }

        if (policy.Algorithm != RateLimitAlgorithm.Concurrency && (policy.Window < TimeSpan.FromMilliseconds(1) || policy.Window > TimeSpan.FromDays(1)))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:Window", policy.Window.ToString(), "must be between 00:00:00.001 and 1.00:00:00"));
        }

        switch (policy.Algorithm)
        {
            case RateLimitAlgorithm.SlidingWindow:
                if (policy.SegmentsPerWindow < 1 || policy.SegmentsPerWindow > 1000)
                {
                    errors.Add(Invalid(path, "SegmentsPerWindow", policy.SegmentsPerWindow, "must be between 1 and 1000"));
                }
                else if (policy.Window.TotalMilliseconds / policy.SegmentsPerWindow < 1)
                {
                    errors.Add(Invalid(path, "SegmentsPerWindow", policy.SegmentsPerWindow, $"splits the Window ({policy.Window}) into segments shorter than 1 ms"));
                }

                break;
            case RateLimitAlgorithm.TokenBucket:
                if (policy.TokensPerPeriod is < 1)
                {
                    errors.Add(Invalid(path, "TokensPerPeriod", policy.TokensPerPeriod.Value, "must be at least 1"));
                }

                if (policy.ReplenishmentPeriod is { } period && (period < TimeSpan.FromMilliseconds(1) || period > TimeSpan.FromDays(1)))
                {
                    errors.Add(ConfigErrors.Invalid($"{path}:ReplenishmentPeriod", period.ToString(), "must be between 00:00:00.001 and 1.00:00:00"));
                }

                break;
        }

        if (policy.QueueLimit < 0)
        {
            errors.Add(Invalid(path, "QueueLimit", policy.QueueLimit, "must not be negative"));
        }
        else if (policy.QueueLimit > 0 && policy.Algorithm != RateLimitAlgorithm.Concurrency)
        {
            errors.Add(Invalid(path, "QueueLimit", policy.QueueLimit, "is only supported with Algorithm Concurrency (window and bucket limits reject at once so Retry-After stays meaningful)"));
        }
    }

    public static bool IsReservedName(string name) =>
        string.Equals(name, "Default", StringComparison.OrdinalIgnoreCase) || string.Equals(name, "Disable", StringComparison.OrdinalIgnoreCase);

    private static string Invalid(string path, string key, int value, string problem) =>
        ConfigErrors.Invalid($"{path}:{key}", value.ToString(CultureInfo.InvariantCulture), problem);
}

/// <summary>
/// Each policy must bind, and a route's <c>RateLimiterPolicy</c> must name a policy. ASP.NET Core's middleware copies its policy map once, at start,
/// and throws on every request to an endpoint naming an unknown policy; we reject such a config instead.
/// </summary>
internal sealed class RouteRateLimiterPolicyCheck(RateLimitPolicies policies) : IGatewayConfigCheck
{
    public void Check(IConfiguration candidate, ICollection<string> errors)
    {
        var defined = new List<string>();
        foreach (var policy in candidate.GetSection($"{RateLimitingOptions.SectionPath}:Policies").GetChildren())
        {
            defined.Add(policy.Key);
            // The binder skips a dictionary entry it cannot bind instead of failing; bind each policy alone to report it.
            try
            {
                policy.Get<RateLimitPolicyOptions>();
            }
            catch (InvalidOperationException ex)
            {
                errors.Add(ConfigErrors.FromBinder(ex, candidate));
            }
        }

        foreach (var route in candidate.GetSection("ReverseProxy:Routes").GetChildren())
        {
            var section = route.GetSection("RateLimiterPolicy");
            var name = section.Value;
            if (string.IsNullOrEmpty(name) || RateLimitingOptionsValidator.IsReservedName(name))
            {
                continue;
            }

            if (!defined.Contains(name, StringComparer.Ordinal))
            {
                var known = defined.Count == 0 ? "none defined" : "known: " + string.Join(", ", defined.Order(StringComparer.Ordinal));
                errors.Add(ConfigErrors.Invalid(section.Path, name, $"names no policy under {RateLimitingOptions.SectionPath}:Policies ({known}; names are case-sensitive)"));
            }
            else if (!policies.IsRegistered(name))
            {
                errors.Add(ConfigErrors.Invalid(section.Path, name, "is a policy added after the gateway started; new policy names take effect after a restart (changed settings of existing policies reload)"));
            }
        }
    }
}
