using Gateway.Foundation;

namespace Gateway.TrafficSplit;

internal static class SplitValidation
{
    /// <summary>One cycle of the draw schedule has this many slots at most.</summary>
    public const int MaxTotalWeight = 10_000;

    public static void Validate(SplitOptions options, IConfigurationSection block, ICollection<string> errors)
    {
        var clusters = ConfigurationPath.Combine(block.Path, "Clusters");
        if (options.Clusters.Count == 0)
        {
            errors.Add($"{clusters}: a split needs at least one cluster with a weight");
        }

        var total = 0L;
        foreach (var (id, weight) in options.Clusters)
        {
            if (weight < 0)
            {
                errors.Add(ConfigErrors.Invalid(ConfigurationPath.Combine(clusters, id), weight.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be 0 or more"));
            }

            total += Math.Max(0, weight);
        }

        if (options.Clusters.Count > 0 && total == 0)
        {
            errors.Add($"{clusters}: the weights are all 0; at least one must be positive");
        }
        else if (total > MaxTotalWeight)
        {
            errors.Add($"{clusters}: the weights add up to {total}; at most {MaxTotalWeight} (they are relative: 90 and 10, not 900000 and 100000)");
        }

        CheckOverride(options.Header, ConfigurationPath.Combine(block.Path, "Header"), errors);
        CheckOverride(options.Cookie, ConfigurationPath.Combine(block.Path, "Cookie"), errors);
        if (options.CookieName is { } name && !IsToken(name))
        {
            errors.Add(ConfigErrors.Invalid(ConfigurationPath.Combine(block.Path, "CookieName"), name, "is not a valid cookie name"));
        }

        ConfigErrors.CheckPositive(options.CookieMaxAge, ConfigurationPath.Combine(block.Path, "CookieMaxAge"), errors);
    }

    public static void Validate(MirrorOptions options, IConfigurationSection block, ICollection<string> errors)
    {
        if (string.IsNullOrEmpty(options.ClusterId))
        {
            errors.Add(ConfigErrors.Required(ConfigurationPath.Combine(block.Path, "ClusterId"), "the shadow cluster's id"));
        }

        if (options.Percent is < 0 or > 100 || double.IsNaN(options.Percent))
        {
            errors.Add(ConfigErrors.Invalid(ConfigurationPath.Combine(block.Path, "Percent"), block["Percent"], "must be between 0 and 100"));
        }

        if (options.MaxBodyBytes < 0)
        {
            errors.Add(ConfigErrors.Invalid(ConfigurationPath.Combine(block.Path, "MaxBodyBytes"), block["MaxBodyBytes"], "must be 0 or more"));
        }

        if (options.MaxConcurrent < 1)
        {
            errors.Add(ConfigErrors.Invalid(ConfigurationPath.Combine(block.Path, "MaxConcurrent"), block["MaxConcurrent"], "must be at least 1"));
        }

        ConfigErrors.CheckPositive(options.Timeout, ConfigurationPath.Combine(block.Path, "Timeout"), errors);
    }

    private static void CheckOverride(SplitOverride? value, string path, ICollection<string> errors)
    {
        if (value is null)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(value.Name))
        {
            errors.Add(ConfigErrors.Required(ConfigurationPath.Combine(path, "Name"), "the header or cookie name"));
        }

        if (value.Values.Count == 0)
        {
            errors.Add($"{ConfigurationPath.Combine(path, "Values")}: list the values that force a cluster (value: cluster id); no value is accepted otherwise");
        }
    }

    private static bool IsToken(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".Contains(c))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>Cross-references the config reader cannot check inside one block: the clusters a split or mirror names exist.</summary>
internal sealed class TrafficReferencesCheck : IGatewayConfigCheck
{
    public void Check(IConfiguration candidate, ICollection<string> errors)
    {
        var clusters = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var cluster in candidate.GetSection($"{ExtensionBlock.ReverseProxySection}:Clusters").GetChildren())
        {
            clusters.Add(cluster.Key);
        }

        foreach (var route in candidate.GetSection($"{ExtensionBlock.ReverseProxySection}:Routes").GetChildren())
        {
            var split = route.GetSection(SplitOptions.BlockName);
            foreach (var arm in split.GetSection("Clusters").GetChildren())
            {
                RequireCluster(arm.Path, arm.Key, clusters, errors);
            }

            foreach (var kind in new[] { "Header", "Cookie" })
            {
                foreach (var value in split.GetSection($"{kind}:Values").GetChildren())
                {
                    RequireCluster(value.Path, value.Value, clusters, errors);
                }
            }

            var mirror = route.GetSection(MirrorOptions.BlockName);
            if (mirror["ClusterId"] is { Length: > 0 } shadow)
            {
                RequireCluster(ConfigurationPath.Combine(mirror.Path, "ClusterId"), shadow, clusters, errors);
                if (string.Equals(shadow, route["ClusterId"], StringComparison.OrdinalIgnoreCase)
                    || split.GetSection("Clusters").GetChildren().Any(arm => string.Equals(arm.Key, shadow, StringComparison.OrdinalIgnoreCase)))
                {
                    errors.Add(ConfigErrors.Invalid(ConfigurationPath.Combine(mirror.Path, "ClusterId"), shadow, "is a cluster this route already serves from; a shadow must be another cluster"));
                }
            }
        }
    }

    private static void RequireCluster(string path, string? id, HashSet<string> clusters, ICollection<string> errors)
    {
        if (string.IsNullOrEmpty(id) || !clusters.Contains(id))
        {
            errors.Add(ConfigErrors.Invalid(path, id, "names no cluster under ReverseProxy:Clusters"));
        }
    }
}
