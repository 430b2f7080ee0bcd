// The proxy listener's pipeline: YARP's own steps plus ours, in the order ARCHITECTURE.md describes.
using Gateway.Management;
using Gateway.Pooling;
using Gateway.Resilience;

namespace Gateway.Proxy;

internal static class ProxyExtensions
{
    public static IEndpointRouteBuilder MapGatewayProxy(this IEndpointRouteBuilder app)
    {
        app.MapReverseProxy(proxy =>
        {
            proxy.UsePoolTracking();
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.UseSafeRetries();
            proxy.UsePassiveHealthChecks();
        }).WithMetadata(ListenerMetadata.Proxy);
        return app;
    }
}
