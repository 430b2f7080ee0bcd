using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.TestSupport;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>Builds gateway config JSON for tests: YARP's schema plus our Gateway section.</summary>
public static class GatewayConfig
{
    /// <summary>One catch-all route to one cluster with the given destinations.</summary>
    public static JsonObject SingleCluster(params UpstreamServer[] upstreams) =>
        SingleCluster("backend", upstreams.Select(u => (u.Name, u.Url)).ToArray());

    public static JsonObject SingleCluster(string clusterId, params (string Id, string Url)[] destinations)
    {
        var dests = new JsonObject();
        foreach (var (id, url) in destinations)
        {
            dests[id] = new JsonObject { ["Address"] = url };
        }

        return new JsonObject
        {
            ["ReverseProxy"] = new JsonObject
            {
                ["Routes"] = new JsonObject
                {
                    ["all"] = new JsonObject { ["ClusterId"] = clusterId, ["Match"] = new JsonObject { ["Path"] = "{**catch-all}" } },
                },
                ["Clusters"] = new JsonObject
                {
                    [clusterId] = new JsonObject { ["LoadBalancingPolicy"] = "RoundRobin", ["Destinations"] = dests },
                },
            },
        };
    }

    public static string ToJson(this JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Sets a value by a config key path (a:b:c), creating objects on the way.</summary>
    public static JsonObject Set(this JsonObject root, string path, JsonNode? value)
    {
        JsonPath.Set(root, path, value);
        return root;
    }

    public static JsonObject RemovePath(this JsonObject root, string path)
    {
        var parts = path.Split(':');
        var current = root;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            current = (JsonObject)current[parts[i]]!;
        }

        current.Remove(parts[^1]);
        return root;
    }
}
