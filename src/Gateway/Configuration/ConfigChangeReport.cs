// The dry run's answer for a valid candidate: what a reload would change, key by key, plus what each stateful
// capability says about its own state (IConfigChangePreview) and the settings that only a restart applies.
using System.Text.Json.Nodes;
using Gateway.Foundation;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Configuration;

internal static class ConfigChangeReport
{
    public static JsonObject Build(ConfigChangeContext context, IEnumerable<IConfigChangePreview> previews, IEnumerable<RestartRequiredSection> restartSections)
    {
        var changes = new JsonObject
        {
            ["routes"] = Diff(context, "Routes", Ids(context.CurrentRoutes), Ids(context.CandidateRoutes)),
            ["clusters"] = Diff(context, "Clusters", Ids(context.CurrentClusters), Ids(context.CandidateClusters)),
            ["destinations"] = Destinations(context),
        };

        foreach (var preview in previews)
        {
            preview.Preview(context, changes);
        }

        changes["settings"] = Settings(context, restartSections);
        return changes;
    }

    private static List<string> Ids(IReadOnlyList<RouteConfig> routes) => routes.Select(r => r.RouteId).ToList();

    private static List<string> Ids(IReadOnlyList<ClusterConfig> clusters) => clusters.Select(c => c.ClusterId).ToList();

    /// <summary>Added and removed ids, and for each kept one the keys whose values differ.</summary>
    private static JsonObject Diff(ConfigChangeContext context, string kind, List<string> current, List<string> candidate)
    {
        var added = new JsonArray();
        var removed = new JsonArray();
        var changed = new JsonObject();
        foreach (var id in candidate)
        {
            if (!current.Contains(id, StringComparer.OrdinalIgnoreCase))
            {
                added.Add((JsonNode?)id);
                continue;
            }

            var path = $"{ExtensionBlock.ReverseProxySection}:{kind}:{id}";
            var keys = ChangedKeys(context.Current.GetSection(path), context.Candidate.GetSection(path));
            if (keys.Count > 0)
            {
                changed[id] = new JsonArray(keys.Select(k => (JsonNode?)JsonValue.Create(k)).ToArray());
            }
        }

        foreach (var id in current)
        {
            if (!candidate.Contains(id, StringComparer.OrdinalIgnoreCase))
            {
                removed.Add((JsonNode?)id);
            }
        }

        return new JsonObject { ["added"] = added, ["removed"] = removed, ["changed"] = changed };
    }

    private static JsonObject Destinations(ConfigChangeContext context)
    {
        var report = new JsonObject();
        foreach (var candidate in context.CandidateClusters)
        {
            var serving = context.CurrentClusters.FirstOrDefault(c => string.Equals(c.ClusterId, candidate.ClusterId, StringComparison.OrdinalIgnoreCase));
            if (serving is null)
            {
                continue; // a new cluster: all its destinations are new, listed under clusters.added
            }

            var before = serving.Destinations ?? new Dictionary<string, DestinationConfig>();
            var after = candidate.Destinations ?? new Dictionary<string, DestinationConfig>();
            var added = new JsonArray(after.Keys.Where(k => !before.ContainsKey(k)).Select(k => (JsonNode?)JsonValue.Create(k)).ToArray());
            var removed = new JsonArray(before.Keys.Where(k => !after.ContainsKey(k)).Select(k => (JsonNode?)JsonValue.Create(k)).ToArray());
            var changed = new JsonArray(after.Where(p => before.TryGetValue(p.Key, out var b) && b != p.Value).Select(p => (JsonNode?)JsonValue.Create(p.Key)).ToArray());
            if (added.Count + removed.Count + changed.Count > 0)
            {
                report[candidate.ClusterId] = new JsonObject { ["added"] = added, ["removed"] = removed, ["changed"] = changed };
            }
        }

        return report;
    }

    /// <summary>Changed keys outside ReverseProxy; those under a section read only at start are listed again with why.</summary>
    private static JsonObject Settings(ConfigChangeContext context, IEnumerable<RestartRequiredSection> restartSections)
    {
        var changed = new JsonArray();
        var restart = new JsonArray();
        var sections = restartSections.Append(new RestartRequiredSection("Kestrel", "listeners are bound at start")).ToList();
        foreach (var key in ChangedKeys(context.Current, context.Candidate))
        {
            if (key.StartsWith(ExtensionBlock.ReverseProxySection + ":", StringComparison.OrdinalIgnoreCase)
                || !(key.StartsWith("Gateway:", StringComparison.OrdinalIgnoreCase) || key.StartsWith("Kestrel:", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            changed.Add((JsonNode?)key);
            var section = sections.FirstOrDefault(s => key.StartsWith(s.Path + ":", StringComparison.OrdinalIgnoreCase));
            if (section is not null)
            {
                restart.Add((JsonNode?)new JsonObject { ["key"] = key, ["why"] = section.Why });
            }
        }

        return new JsonObject { ["changed"] = changed, ["needRestart"] = restart };
    }

    private static List<string> ChangedKeys(IConfiguration current, IConfiguration candidate)
    {
        var before = Flatten(current);
        var after = Flatten(candidate);
        var keys = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in after)
        {
            if (!before.TryGetValue(key, out var old) || old != value)
            {
                keys.Add(key);
            }
        }

        foreach (var key in before.Keys)
        {
            if (!after.ContainsKey(key))
            {
                keys.Add(key);
            }
        }

        return [.. keys];
    }

    private static Dictionary<string, string?> Flatten(IConfiguration section)
    {
        var pairs = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in section.AsEnumerable(makePathsRelative: true))
        {
            if (value is not null)
            {
                pairs[key] = value;
            }
        }

        return pairs;
    }
}
