// Every capability's services, in one list shared by Program.cs and the config fuzz tests (which must validate
// exactly what a running gateway validates).
using Gateway.Affinity;
using Gateway.Demo;
using Gateway.Draining;
using Gateway.Hardening;
using Gateway.Management;
using Gateway.Observability;
using Gateway.Pooling;
using Gateway.RateLimiting;
using Gateway.Resilience;
using Gateway.SharedState;

namespace Gateway;

internal static class GatewayComposition
{
    public static IServiceCollection AddGatewayFeatures(this IServiceCollection services, IConfiguration configuration) => services
        .AddGatewayTelemetry(configuration)
        .AddManagement()
        .AddHardening() // after AddManagement: it extends the Kestrel config loader Management installs
        .AddSharedState()
        .AddConnectionPools()
        .AddAffinity()
        .AddDraining()
        .AddRateLimiting()
        .AddResilience()
        .AddDemoUpstreams();
}
