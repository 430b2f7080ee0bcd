using System.Text.Json.Nodes;

namespace Gateway.TestSupport;

/// <summary>Config key paths (a:b:c) on JSON documents; shared by the config builders and the config fuzzer.</summary>
public static class JsonPath
{
    /// <summary>Sets a value by key path, creating objects on the way.</summary>
    public static void Set(JsonObject root, string path, JsonNode? value)
    {
        var parts = path.Split(':');
        var current = root;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (current[parts[i]] is not JsonObject next)
            {
                next = new JsonObject();
                current[parts[i]] = next;
            }

            current = next;
        }

        current[parts[^1]] = value;
    }
}
