// Every capability's services, in one list shared by Program.cs and the config fuzz tests (which must validate
// exactly what a running gateway validates). Order does not matter between capabilities: they meet only through
// the ground floor's seams (Foundation/).
using Gateway.AccessLog;
using Gateway.Affinity;
using Gateway.Authentication;
using Gateway.CircuitBreaker;
using Gateway.Compression;
using Gateway.Cors;
using Gateway.Demo;
using Gateway.DestinationDraining;
using Gateway.Discovery;
using Gateway.ErrorResponses;
using Gateway.Foundation;
using Gateway.Hardening;
using Gateway.Management;
using Gateway.Observability;
using Gateway.OutputCaching;
using Gateway.PassiveHealth;
using Gateway.Pooling;
using Gateway.RateLimiting;
using Gateway.RequestBuffering;
using Gateway.Retries;
using Gateway.SharedState;
using Gateway.Shutdown;
using Gateway.Streams;
using Gateway.Tls;
using Gateway.Transport;
using Gateway.TrafficSplit;

namespace Gateway;

internal static class GatewayComposition
{
    public static IServiceCollection AddGatewayFeatures(this IServiceCollection services, IConfiguration configuration) => services
        .AddGatewayTelemetry(configuration)
        .AddKnownSeries()           // after the telemetry: its seeds run once OpenTelemetry listens (hosted services start in order)
        .AddManagement()
        .AddAccessLog()
        .AddHardening()
        .AddTransportSettings()
        .AddSharedState()
        .AddConnectionPools()
        .AddAffinity()
        .AddDestinationDraining()
        .AddDiscovery()
        .AddGracefulShutdown()
        .AddOpenStreams()
        .AddRateLimiting()
        .AddOutputCaching()
        .AddCompression()
        .AddGatewayCors()
        .AddGatewayAuthentication()
        .AddPassiveHealth()
        .AddRetries()
        .AddCircuitBreaker()
        .AddUpstreamErrorResponses()
        .AddTrafficSplit()
        .AddRequestBuffering()
        .AddTls()
        .AddDemoUpstreams();
}
