using Gateway.Foundation;

namespace Gateway.Configuration;

/// <summary><c>GET /admin/config</c>: which file is served and how many configs have been applied.</summary>
internal sealed class ConfigAdminEndpoints : IAdminEndpoints
{
    public void Map(IEndpointRouteBuilder admin) =>
        admin.MapGet("/config", (GatewayConfigStore store) => Results.Ok(new { path = store.Path, generation = store.Generation }));
}
