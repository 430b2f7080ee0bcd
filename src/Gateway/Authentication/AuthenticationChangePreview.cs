// What a reload would do to the authentication schemes, by JwtSchemes' rules: an unchanged scheme keeps its fetched
// keys, a changed one builds its options and fetches its metadata and keys again on its next request.
using System.Text.Json.Nodes;
using Gateway.Foundation;

namespace Gateway.Authentication;

internal sealed class AuthenticationChangePreview : IConfigChangePreview
{
    public void Preview(ConfigChangeContext context, JsonObject changes)
    {
        var current = Schemes(context.Current);
        var kept = new JsonArray();
        var refetched = new JsonArray();
        var added = new JsonArray();
        foreach (var (name, scheme) in Schemes(context.Candidate))
        {
            if (!current.Remove(name, out var serving))
            {
                added.Add((JsonNode?)name);
            }
            else if (string.Equals(JwtSchemes.Fingerprint(serving), JwtSchemes.Fingerprint(scheme), StringComparison.Ordinal))
            {
                kept.Add((JsonNode?)name);
            }
            else
            {
                refetched.Add((JsonNode?)name);
            }
        }

        var removed = new JsonArray();
        foreach (var name in current.Keys)
        {
            removed.Add((JsonNode?)name);
        }

        changes["authenticationSchemes"] = new JsonObject { ["kept"] = kept, ["refetched"] = refetched, ["added"] = added, ["removed"] = removed };
    }

    private static Dictionary<string, JwtSchemeOptions> Schemes(IConfiguration config)
    {
        try
        {
            return config.GetSection(GatewayAuthenticationOptions.SectionPath).Get<GatewayAuthenticationOptions>()?.Schemes
                ?? new Dictionary<string, JwtSchemeOptions>(StringComparer.Ordinal);
        }
        catch (InvalidOperationException)
        {
            return new Dictionary<string, JwtSchemeOptions>(StringComparer.Ordinal); // the serving config validated; a candidate too
        }
    }
}
