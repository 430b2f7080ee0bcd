// Reads YARP's own `ReverseProxy` schema with key-path errors.
// Gap in YARP: its config provider throws on the first bad value without naming the key, and it accepts a
// cluster with no destinations or a route to a cluster that does not exist; we report every problem at once.
using Gateway.Foundation;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Configuration;

internal sealed record ProxySnapshot(IReadOnlyList<RouteConfig> Routes, IReadOnlyList<ClusterConfig> Clusters);

internal static class ProxyConfigReader
{
    public const string SectionName = ExtensionBlock.ReverseProxySection;

    /// <summary>
    /// Reads routes and clusters, and validates and captures every declared <paramref name="blocks"/> into their
    /// Metadata (see <see cref="ExtensionBlock"/>).
    /// </summary>
    public static ProxySnapshot Read(IConfiguration config, IReadOnlyList<ExtensionBlock> blocks, ICollection<string> errors)
    {
        var section = config.GetSection(SectionName);
        var clusters = new List<ClusterConfig>();
        var clusterIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        foreach (var clusterSection in section.GetSection("Clusters").GetChildren())
        {
            // Known even when its block has errors, so routes to it do not report a second, misleading problem.
            clusterIds.Add(clusterSection.Key);
            var cluster = Bind<ClusterConfig>(clusterSection, config, errors);
            if (cluster is null)
            {
                continue;
            }

            CheckDestinations(clusterSection, cluster, SuppliesDestinations(clusterSection, blocks), errors);
            var metadata = Capture(ExtensionScope.Cluster, clusterSection, cluster.Metadata, config, blocks, errors);
            clusters.Add(cluster with { ClusterId = clusterSection.Key, Metadata = metadata });
        }

        var routes = new List<RouteConfig>();
        foreach (var routeSection in section.GetSection("Routes").GetChildren())
        {
            var route = Bind<RouteConfig>(routeSection, config, errors);
            if (route is null)
            {
                continue;
            }

            var clusterPath = ConfigurationPath.Combine(routeSection.Path, "ClusterId");
            if (string.IsNullOrEmpty(route.ClusterId))
            {
                errors.Add(ConfigErrors.Required(clusterPath, "the id of the cluster this route forwards to"));
            }
            else if (!clusterIds.Contains(route.ClusterId))
            {
                errors.Add(ConfigErrors.Invalid(clusterPath, route.ClusterId, "names no cluster under ReverseProxy:Clusters"));
            }

            // YARP accepts a route that matches on neither path nor host; that is almost always a typo.
            if (string.IsNullOrEmpty(route.Match?.Path) && route.Match?.Hosts is not { Count: > 0 })
            {
                errors.Add($"{ConfigurationPath.Combine(routeSection.Path, "Match")}: needs a Path or Hosts (use \"{{**catch-all}}\" to match every path)");
            }

            var routeMetadata = Capture(ExtensionScope.Route, routeSection, route.Metadata, config, blocks, errors);
            routes.Add(route with { RouteId = routeSection.Key, Metadata = routeMetadata });
        }

        return new ProxySnapshot(routes, clusters);
    }

    private static T? Bind<T>(IConfigurationSection section, IConfiguration config, ICollection<string> errors)
        where T : class, new()
    {
        try
        {
            return section.Get<T>() ?? new T();
        }
        catch (InvalidOperationException ex)
        {
            errors.Add(ConfigErrors.FromBinder(ex, config, section.Path));
            return null;
        }
    }

    /// <summary>The user's Metadata plus one entry per declared block of this scope that is set (or has defaults).</summary>
    private static IReadOnlyDictionary<string, string>? Capture(
        ExtensionScope scope,
        IConfigurationSection owner,
        IReadOnlyDictionary<string, string>? userMetadata,
        IConfiguration config,
        IReadOnlyList<ExtensionBlock> blocks,
        ICollection<string> errors)
    {
        Dictionary<string, string>? metadata = null;
        foreach (var block in blocks)
        {
            if (block.Scope == scope && block.Capture(owner, config, errors) is { } captured)
            {
                metadata ??= new Dictionary<string, string>(userMetadata ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase);
                metadata[block.MetadataKey] = captured;
            }
        }

        return metadata ?? userMetadata;
    }

    private static string? SuppliesDestinations(IConfigurationSection clusterSection, IReadOnlyList<ExtensionBlock> blocks)
    {
        foreach (var block in blocks)
        {
            if (block.Scope == ExtensionScope.Cluster && block.SuppliesDestinations && block.IsSetIn(clusterSection))
            {
                return block.Name;
            }
        }

        return null;
    }

    private static void CheckDestinations(IConfigurationSection clusterSection, ClusterConfig cluster, string? suppliedBy, ICollection<string> errors)
    {
        var destinationsPath = ConfigurationPath.Combine(clusterSection.Path, "Destinations");
        if (cluster.Destinations is null || cluster.Destinations.Count == 0)
        {
            if (suppliedBy is null)
            {
                errors.Add($"{destinationsPath}: a cluster needs at least one destination");
            }

            return;
        }

        foreach (var (id, destination) in cluster.Destinations)
        {
            var addressPath = ConfigurationPath.Combine(destinationsPath, id, "Address");
            if (!IsHttpUrl(destination.Address))
            {
                errors.Add(ConfigErrors.Invalid(addressPath, destination.Address, "is not an absolute http:// or https:// URL"));
            }

            if (destination.Health is { Length: > 0 } health && !IsHttpUrl(health))
            {
                errors.Add(ConfigErrors.Invalid(ConfigurationPath.Combine(destinationsPath, id, "Health"), health, "is not an absolute http:// or https:// URL"));
            }
        }
    }

    private static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && !string.IsNullOrEmpty(uri.Host);
}
