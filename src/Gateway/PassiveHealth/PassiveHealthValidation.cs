// Range checks for the passive-health settings, on the defaults and on every cluster, at start and on reload.
using System.Globalization;
using Gateway.Foundation;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Health;

namespace Gateway.PassiveHealth;

internal static class PassiveHealthValidation
{
    public static void ValidatePassive(PassiveHealthDefaultsOptions options, string path, IReadOnlyCollection<string> policies, ICollection<string> errors)
    {
        if (options.Policy is { } policy && !Contains(policies, policy))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:Policy", policy, $"is not a passive health policy (known: {string.Join(", ", policies)})"));
        }

        ConfigErrors.CheckPositive(options.ReactivationPeriod, $"{path}:ReactivationPeriod", errors);
        ConfigErrors.CheckPositive(options.MaxReactivationPeriod, $"{path}:MaxReactivationPeriod", errors);
        if (options.ConsecutiveFailures is < 1)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:ConsecutiveFailures", options.ConsecutiveFailures.ToString(), "must be at least 1"));
        }

        if (options.ConsecutiveConnectFailures is < 1)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:ConsecutiveConnectFailures", options.ConsecutiveConnectFailures.ToString(), "must be at least 1"));
        }
    }

    /// <summary>The per-cluster <c>PassiveHealth.*</c> metadata values that the ConsecutiveFailures policy reads.</summary>
    public static void ValidateMetadata(IConfigurationSection metadata, ICollection<string> errors)
    {
        foreach (var entry in metadata.GetChildren())
        {
            var value = entry.Value;
            switch (entry.Key)
            {
                case EjectionSettings.ThresholdKey or EjectionSettings.ConnectThresholdKey when !int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 1:
                    errors.Add(ConfigErrors.Invalid(entry.Path, value, "must be a whole number of at least 1"));
                    break;
                case EjectionSettings.MaxReactivationPeriodKey when !TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var t) || t <= TimeSpan.Zero:
                    errors.Add(ConfigErrors.Invalid(entry.Path, value, "must be a TimeSpan greater than 00:00:00 (use \"00:02:00\" for 2 minutes)"));
                    break;
                case EjectionSettings.Count5xxKey when !bool.TryParse(value, out _):
                    errors.Add(ConfigErrors.Invalid(entry.Path, value, "is not true or false"));
                    break;
            }
        }
    }

    private static bool Contains(IReadOnlyCollection<string> names, string name)
    {
        foreach (var known in names)
        {
            if (string.Equals(known, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

internal sealed class PassiveHealthDefaultsValidator(IEnumerable<IPassiveHealthCheckPolicy> policies) : IValidateOptions<PassiveHealthDefaultsOptions>
{
    private readonly string[] _policies = policies.Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();

    public ValidateOptionsResult Validate(string? name, PassiveHealthDefaultsOptions options)
    {
        var errors = new List<string>();
        PassiveHealthValidation.ValidatePassive(options, PassiveHealthDefaultsOptions.SectionPath, _policies, errors);
        return ConfigErrors.ToResult(errors);
    }
}

/// <summary>
/// Checks every cluster's <c>PassiveHealth.*</c> metadata and health-check policy names in a candidate
/// config. Gap in YARP: its validator accepts an unknown passive or active policy name, and then every request to the
/// cluster fails with a 500 (passive) or probing silently stops (active).
/// </summary>
internal sealed class HealthCheckConfigCheck(IEnumerable<IPassiveHealthCheckPolicy> passive, IEnumerable<IActiveHealthCheckPolicy> active) : IGatewayConfigCheck
{
    private readonly string[] _passive = passive.Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
    private readonly string[] _active = active.Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();

    public void Check(IConfiguration candidate, ICollection<string> errors)
    {
        foreach (var cluster in candidate.GetSection($"{ExtensionBlock.ReverseProxySection}:Clusters").GetChildren())
        {
            PassiveHealthValidation.ValidateMetadata(cluster.GetSection("Metadata"), errors);
            CheckPolicy(cluster.GetSection("HealthCheck:Passive:Policy"), _passive, "passive", errors);
            CheckPolicy(cluster.GetSection("HealthCheck:Active:Policy"), _active, "active", errors);
        }
    }

    private static void CheckPolicy(IConfigurationSection policy, string[] known, string kind, ICollection<string> errors)
    {
        if (policy.Value is { Length: > 0 } name && Array.FindIndex(known, k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) < 0)
        {
            errors.Add(ConfigErrors.Invalid(policy.Path, name, $"is not {(kind == "active" ? "an" : "a")} {kind} health policy (known: {string.Join(", ", known)})"));
        }
    }
}
