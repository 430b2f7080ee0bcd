using System.Text.Json.Nodes;
using Gateway.Foundation;

namespace Gateway.Configuration;

/// <summary>
/// <c>GET /admin/config</c>: which file is served, how many configs have been applied, and what is in force;
/// <c>POST /admin/config/validate</c>: the dry run of a candidate file (nothing is applied).
/// </summary>
internal sealed class ConfigAdminEndpoints : IAdminEndpoints
{
    // A config file is a few KB; a body this large is a mistake, not a config.
    private const int MaxCandidateBytes = 4 * 1024 * 1024;

    public void Map(IEndpointRouteBuilder admin)
    {
        admin.MapGet("/config", (GatewayConfigStore store) =>
            AdminJson.Result(new JsonObject { ["path"] = store.Path, ["generation"] = store.Generation, ["inForce"] = store.InForce() }));
        admin.MapPost("/config/validate", ValidateAsync);
    }

    private static async Task<IResult> ValidateAsync(HttpRequest request, GatewayConfigStore store)
    {
        using var body = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, request.HttpContext.RequestAborted)) > 0)
        {
            if (body.Length + read > MaxCandidateBytes)
            {
                return AdminJson.Result(new JsonObject { ["error"] = "candidate_too_large", ["limitBytes"] = MaxCandidateBytes }, StatusCodes.Status413PayloadTooLarge);
            }

            body.Write(buffer, 0, read);
        }

        var preview = store.Preview(GatewayConfigFile.Parse(body.ToArray(), "candidate"));
        return AdminJson.Result(ToJson(preview, includeChanges: true));
    }

    /// <summary>The dry run's JSON, shared by the admin endpoint and <c>--validate --json</c>.</summary>
    public static JsonObject ToJson(ConfigPreview preview, bool includeChanges)
    {
        var json = new JsonObject
        {
            ["valid"] = preview.Errors.Count == 0,
            ["errors"] = new JsonArray(preview.Errors.Select(e => (JsonNode?)JsonValue.Create(e)).ToArray()),
            ["warnings"] = new JsonArray(preview.Unknown.Select(u => (JsonNode?)JsonValue.Create(u.ToString())).ToArray()),
        };
        if (includeChanges && preview.Changes is not null)
        {
            json["changes"] = preview.Changes;
        }

        return json;
    }
}
