// Reads YARP's own `ReverseProxy` schema (YarpSchemaReader, YARP's semantics) plus the gateway's blocks inside it.
// Gap in YARP: it accepts a cluster with no destinations or a route to a cluster that does not exist; we report
// every problem at once, each with its key path.
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
    public static ProxySnapshot Read(IConfiguration config, IReadOnlyList<ExtensionBlock> blocks, ICollection<string> errors) =>
        Read(config, blocks, new SchemaDiagnostics(errors));

    /// <summary>As above, also collecting the keys neither YARP nor a block knows.</summary>
    public static ProxySnapshot Read(IConfiguration config, IReadOnlyList<ExtensionBlock> blocks, SchemaDiagnostics diagnostics)
    {
        var errors = diagnostics.Errors;
        var section = config.GetSection(SectionName);
        UnknownKeys.Collect(section, TopLevelKeys, diagnostics.Unknown);
        var clusterBlocks = BlockNames(blocks, ExtensionScope.Cluster);
        var routeBlocks = BlockNames(blocks, ExtensionScope.Route);
        var clusters = new List<ClusterConfig>();
        var clusterIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        foreach (var clusterSection in section.GetSection("Clusters").GetChildren())
        {
            // Known even when its block has errors, so routes to it do not report a second, misleading problem.
            clusterIds.Add(clusterSection.Key);
            var unknownBefore = diagnostics.Unknown.Count;
            var cluster = YarpSchemaReader.ReadCluster(clusterSection, clusterBlocks, diagnostics);
            CheckDestinations(clusterSection, cluster, SuppliesDestinations(clusterSection, blocks), diagnostics, unknownBefore);
            var metadata = Capture(ExtensionScope.Cluster, clusterSection, cluster.Metadata, config, blocks, diagnostics);
            clusters.Add(cluster with { ClusterId = clusterSection.Key, Metadata = metadata });
        }

        var routes = new List<RouteConfig>();
        foreach (var routeSection in section.GetSection("Routes").GetChildren())
        {
            var route = YarpSchemaReader.ReadRoute(routeSection, routeBlocks, diagnostics);

            var clusterPath = ConfigurationPath.Combine(routeSection.Path, "ClusterId");
            if (string.IsNullOrEmpty(route.ClusterId))
            {
                if (routeSection.GetSection("ClusterId").GetChildren().Any())
                {
                    continue; // Reported as a shape error by the schema reader.
                }

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

            var routeMetadata = Capture(ExtensionScope.Route, routeSection, route.Metadata, config, blocks, diagnostics);
            routes.Add(route with { RouteId = routeSection.Key, Metadata = routeMetadata });
        }

        return new ProxySnapshot(routes, clusters);
    }

    private static readonly string[] TopLevelKeys = ["Routes", "Clusters"];

    private static List<string> BlockNames(IReadOnlyList<ExtensionBlock> blocks, ExtensionScope scope)
    {
        var names = new List<string>();
        foreach (var block in blocks)
        {
            if (block.Scope == scope && block.Name is not null)
            {
                names.Add(block.Name);
            }
        }

        return names;
    }

    /// <summary>The user's Metadata plus one entry per declared block of this scope that is set (or has defaults).</summary>
    private static IReadOnlyDictionary<string, string>? Capture(
        ExtensionScope scope,
        IConfigurationSection owner,
        IReadOnlyDictionary<string, string>? userMetadata,
        IConfiguration config,
        IReadOnlyList<ExtensionBlock> blocks,
        SchemaDiagnostics diagnostics)
    {
        Dictionary<string, string>? metadata = null;
        foreach (var block in blocks)
        {
            if (block.Scope != scope)
            {
                continue;
            }

            if (block.Name is not null && owner.GetSection(block.Name) is { } own && own.Exists())
            {
                UnknownKeys.CollectForType(own, block.OptionsType, diagnostics.Unknown);
            }

            if (block.Capture(owner, config, diagnostics.Errors) is { } captured)
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

    private static void CheckDestinations(
        IConfigurationSection clusterSection, ClusterConfig cluster, string? suppliedBy, SchemaDiagnostics diagnostics, int unknownFrom)
    {
        var errors = diagnostics.Errors;
        var destinationsPath = ConfigurationPath.Combine(clusterSection.Path, "Destinations");
        if (cluster.Destinations is null || cluster.Destinations.Count == 0)
        {
            if (suppliedBy is null)
            {
                errors.Add($"{destinationsPath}: a cluster needs at least one destination{StrayDestinationsHint(diagnostics, unknownFrom)}");
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

    // "Destination" for "Destinations" is the usual cause of an empty cluster; point at the stray key.
    private static string StrayDestinationsHint(SchemaDiagnostics diagnostics, int unknownFrom)
    {
        for (var i = unknownFrom; i < diagnostics.Unknown.Count; i++)
        {
            if (diagnostics.Unknown[i].Suggestion == "Destinations")
            {
                return $" (found {diagnostics.Unknown[i].Path}: did you mean Destinations?)";
            }
        }

        return string.Empty;
    }

    private static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && !string.IsNullOrEmpty(uri.Host);
}
