// One line at start that says what is in force (listeners and TLS, admin, Redis, drain timings, limits, counts), so a
// platform engineer reading a pod's log sees the effective settings, not the ones they meant to set.
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Foundation;

namespace Gateway.Configuration;

internal sealed class StartupSummary(IEnumerable<IStartupSummaryPart> parts)
{
    private readonly IStartupSummaryPart[] _parts = parts.ToArray();

    public JsonObject Build(string configPath, int routes, int clusters)
    {
        var summary = new JsonObject { ["config"] = new JsonObject { ["path"] = configPath, ["routes"] = routes, ["clusters"] = clusters } };
        foreach (var part in _parts)
        {
            part.Describe(summary);
        }

        return summary;
    }

    /// <summary>"listeners: proxy http://0.0.0.0:8080 (tls off), ...; admin: on; ..." from the summary object.</summary>
    public static string Render(JsonObject summary)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in summary)
        {
            if (text.Length > 0)
            {
                text.Append("; ");
            }

            text.Append(name).Append(": ");
            Render(value, text, nested: false);
        }

        return text.ToString();
    }

    private static void Render(JsonNode? node, StringBuilder text, bool nested)
    {
        switch (node)
        {
            case JsonObject obj:
                text.Append(nested ? "(" : string.Empty);
                var first = true;
                foreach (var (name, value) in obj)
                {
                    text.Append(first ? string.Empty : ", ").Append(name).Append(' ');
                    Render(value, text, nested: true);
                    first = false;
                }

                text.Append(nested ? ")" : string.Empty);
                break;
            case JsonArray { Count: 0 }:
                text.Append("none");
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    text.Append(i == 0 ? string.Empty : ", ");
                    Render(array[i], text, nested: true);
                }

                break;
            case null:
                text.Append("off");
                break;
            default:
                text.Append(node.ToJsonString().Trim('"'));
                break;
        }
    }
}

/// <summary>The listeners with their TLS and protocols.</summary>
internal sealed class ListenersSummaryPart(IConfiguration configuration) : IStartupSummaryPart
{
    public void Describe(JsonObject summary)
    {
        var listeners = new JsonObject();
        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            var url = endpoint["Url"] ?? string.Empty;
            var tls = url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            var sni = endpoint.GetSection("Sni").GetChildren().Count();
            listeners[endpoint.Key] = new JsonObject
            {
                ["url"] = url,
                ["tls"] = tls ? (sni > 0 ? string.Create(CultureInfo.InvariantCulture, $"on, {sni} SNI names") : "on") : "off",
                ["protocols"] = endpoint["Protocols"] ?? "Http1AndHttp2",
            };
        }

        summary["listeners"] = listeners;
    }
}
