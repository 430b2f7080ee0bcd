using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.TestSupport;

/// <summary>
/// Seeded, reproducible mutations of a gateway config file: variant <c>i</c> of seed <c>s</c> is always the same text.
/// Shared by the unit-level fuzz in Gateway.Tests and the hot-reload fuzz in Gateway.FunctionalTests.
/// </summary>
public static class ConfigFuzzer
{
    public const int Seed = 9100;

    private static readonly string[] BadTimeSpans = ["5 minutes", "-00:00:01", "99:99:99", "P1D", "", " ", "00:00:00", "1e3", "10675199.02:48:05.4775808", "∞"];
    private static readonly JsonNode?[] OddValues =
    [
        -1, -999_999, 0, 1e308, double.MaxValue, long.MaxValue, "99999999999999999999999", "NaN", "-Infinity", true, "true",
        "ünïcödé", "\u202e\u0000evil", "🦀", new string('x', 10_000), null, "http://[::1", "0.0.0.0/0", "256.1.1.1", "10.0.0.1/8",
    ];

    /// <summary>The base every variant mutates: the shipped config/gateway.json plus the gateway's own blocks.</summary>
    public static JsonObject BaseConfig()
    {
        var config = JsonNode.Parse(File.ReadAllText(TestPaths.ShippedConfig))!.AsObject();
        foreach (var (path, value) in new (string, JsonNode)[]
        {
            ("Gateway:Limits:MaxRequestBodySize", 1048576),
            ("Gateway:Limits:RequestHeadersTimeout", "00:00:10"),
            ("Gateway:ForwardedHeaders:KnownProxies", new JsonArray("10.0.0.1")),
            ("Gateway:ForwardedHeaders:KnownNetworks", new JsonArray("10.1.0.0/16")),
            ("Gateway:Redis:OperationTimeout", "00:00:00.050"),
            ("Gateway:Configuration:PollInterval", "00:00:02"),
            ("ReverseProxy:Clusters:demo:ConnectionPool:MaxConnectionsPerServer", 64),
            ("ReverseProxy:Clusters:demo:CircuitBreaker:MaxConcurrentRequests", 1000),
            ("ReverseProxy:Clusters:demo:Retry:MinRetriesPerSecond", 10),
            ("ReverseProxy:Clusters:demo:HttpRequest:ActivityTimeout", "00:01:00"),
            ("ReverseProxy:Routes:demo:MaxRequestBodySize", 2048),
        })
        {
            JsonPath.Set(config, path, value);
        }

        return config;
    }

    /// <summary>Variant <paramref name="index"/>: 1-3 mutations of <paramref name="baseConfig"/>, returned as file text.</summary>
    public static (string Text, string Description) Variant(JsonObject baseConfig, int index, int seed = Seed)
    {
        var random = new Random(seed * 100_003 + index);
        var config = baseConfig.DeepClone().AsObject();
        var applied = new List<string>();
        string? text = null;
        var count = random.Next(1, 4);
        for (var m = 0; m < count; m++)
        {
            var leaves = Leaves(config).ToList();
            var objects = Objects(config).ToList();
            switch (random.Next(10))
            {
                case 0 when leaves.Count > 0:
                {
                    var (parent, key, path) = leaves[random.Next(leaves.Count)];
                    var replacement = ChangeType(parent[key], random);
                    parent[key] = replacement;
                    applied.Add($"type {path} -> {Show(replacement)}");
                    break;
                }

                case 1 when leaves.Count > 0:
                {
                    var (parent, key, path) = random.Next(2) == 0 || objects.Count < 2 ? leaves[random.Next(leaves.Count)] : Pick(objects, random);
                    parent.Remove(key);
                    applied.Add($"remove {path}");
                    break;
                }

                case 2 when objects.Count > 0:
                {
                    var (target, _, path) = Pick(objects, random);
                    var name = random.Next(3) switch { 0 => "Junk" + random.Next(1000), 1 => "ünï" + random.Next(10), _ => "a:b" };
                    target[name] = OddValues[random.Next(OddValues.Length)]?.DeepClone();
                    applied.Add($"junk {path}:{name}");
                    break;
                }

                case 3 when leaves.Count > 0:
                {
                    var (parent, key, path) = leaves[random.Next(leaves.Count)];
                    var value = BadTimeSpans[random.Next(BadTimeSpans.Length)];
                    parent[key] = value;
                    applied.Add($"timespan {path} = '{value}'");
                    break;
                }

                case 4 or 5 or 6 when leaves.Count > 0:
                {
                    var (parent, key, path) = leaves[random.Next(leaves.Count)];
                    var value = OddValues[random.Next(OddValues.Length)]?.DeepClone();
                    parent[key] = value;
                    applied.Add($"value {path} = {Show(value)}");
                    break;
                }

                case 7:
                {
                    var full = Serialize(config, duplicateAt: -1);
                    text = full[..random.Next(full.Length)];
                    applied.Add($"truncate at {text.Length}");
                    break;
                }

                case 8 when objects.Count > 0:
                {
                    text = Serialize(config, duplicateAt: random.Next(objects.Count));
                    applied.Add("duplicate key");
                    break;
                }

                default:
                {
                    var full = new StringBuilder(Serialize(config, duplicateAt: -1));
                    var at = random.Next(full.Length);
                    var junk = new[] { "{", "}", ",", "\"", ":", "[", "\\", "\u0000", "/*", "tru" }[random.Next(10)];
                    full.Insert(at, junk);
                    text = full.ToString();
                    applied.Add($"invalid JSON: '{junk}' at {at}");
                    break;
                }
            }

            if (text is not null)
            {
                break;
            }
        }

        return (text ?? Serialize(config, duplicateAt: -1), string.Join("; ", applied));
    }

    private static (JsonObject Parent, string Key, string Path) Pick(List<(JsonObject, string, string)> items, Random random) => items[random.Next(items.Count)];

    private static string Show(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "null";
        return text.Length > 40 ? text[..40] + "..." : text;
    }

    private static JsonNode? ChangeType(JsonNode? current, Random random) => random.Next(5) switch
    {
        0 => current is JsonValue v && v.TryGetValue<string>(out var s) ? JsonValue.Create(s.Length) : JsonValue.Create("text"),
        1 => new JsonObject { ["nested"] = 1 },
        2 => new JsonArray(1, "two"),
        3 => JsonValue.Create(random.Next(2) == 0),
        _ => null,
    };

    /// <summary>Every scalar (or array element) with its parent object and key path.</summary>
    private static IEnumerable<(JsonObject Parent, string Key, string Path)> Leaves(JsonObject node, string prefix = "")
    {
        foreach (var (key, child) in node.ToList())
        {
            var path = prefix.Length == 0 ? key : $"{prefix}:{key}";
            if (child is JsonObject obj)
            {
                foreach (var leaf in Leaves(obj, path))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return (node, key, path);
            }
        }
    }

    /// <summary>Every object-valued property with its parent and path (the property itself is the object).</summary>
    private static IEnumerable<(JsonObject Object, string Key, string Path)> Objects(JsonObject node, string prefix = "")
    {
        foreach (var (key, child) in node.ToList())
        {
            if (child is JsonObject obj)
            {
                var path = prefix.Length == 0 ? key : $"{prefix}:{key}";
                yield return (obj, key, path);
                foreach (var inner in Objects(obj, path))
                {
                    yield return inner;
                }
            }
        }
    }

    /// <summary>Writes JSON; the <paramref name="duplicateAt"/>-th object (depth-first) gets its first property twice.</summary>
    private static string Serialize(JsonObject config, int duplicateAt)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, SkipValidation = true }))
        {
            var counter = -1;
            Write(writer, config, duplicateAt, ref counter);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Write(Utf8JsonWriter writer, JsonNode? node, int duplicateAt, ref int counter)
    {
        if (node is JsonObject obj)
        {
            var isTarget = ++counter == duplicateAt;
            writer.WriteStartObject();
            var first = true;
            foreach (var (key, child) in obj)
            {
                writer.WritePropertyName(key);
                Write(writer, child, duplicateAt, ref counter);
                if (isTarget && first)
                {
                    writer.WritePropertyName(key);
                    var ignored = -2;
                    Write(writer, child, -3, ref ignored);
                }

                first = false;
            }

            writer.WriteEndObject();
        }
        else if (node is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            node.WriteTo(writer);
        }
    }
}
