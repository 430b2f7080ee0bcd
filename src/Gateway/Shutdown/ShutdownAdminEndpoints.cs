using Gateway.Foundation;

namespace Gateway.Shutdown;

/// <summary><c>POST /admin/drain</c>: the same shutdown sequence as SIGTERM (readiness 503 at once, then drain and exit 0).</summary>
internal sealed class ShutdownAdminEndpoints : IAdminEndpoints
{
    public void Map(IEndpointRouteBuilder admin) =>
        admin.MapPost("/drain", (ShutdownSequence shutdown, IHostApplicationLifetime lifetime) =>
        {
            shutdown.BeginDraining("POST /admin/drain");
            lifetime.StopApplication();
            return Results.Accepted();
        });
}
