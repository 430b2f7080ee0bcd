// The proxy listener's pipeline: YARP's own steps plus ours, in the order ARCHITECTURE.md describes.
using Gateway.Affinity;
using Gateway.Hardening;
using Gateway.Management;
using Gateway.Observability;
using Gateway.Pooling;
using Gateway.Resilience;

namespace Gateway.Proxy;

internal static class ProxyExtensions
{
    public static IEndpointRouteBuilder MapGatewayProxy(this IEndpointRouteBuilder app)
    {
        app.MapReverseProxy(proxy =>
        {
            proxy.UseProxyMetrics();
            proxy.UseDeclaredBodyLimit();
            proxy.UsePoolTracking();
            proxy.UseSessionAffinity();
            proxy.UseDrainAwareAffinity();
            proxy.UseLoadBalancing();
            proxy.UseSafeRetries();
            proxy.UsePassiveHealthChecks();
            proxy.UseUpstreamMetrics();
        }).WithMetadata(ListenerMetadata.Proxy);
        return app;
    }
}
