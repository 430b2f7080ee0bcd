// The one place that states the order of both pipelines. Each step comes from its capability's Use* extension.
using Gateway.AccessLog;
using Gateway.Affinity;
using Gateway.Authentication;
using Gateway.CircuitBreaker;
using Gateway.Cors;
using Gateway.DestinationDraining;
using Gateway.ErrorResponses;
using Gateway.Foundation;
using Gateway.Hardening;
using Gateway.Management;
using Gateway.Observability;
using Gateway.Pooling;
using Gateway.RequestBuffering;
using Gateway.Retries;
using Gateway.Shutdown;
using Gateway.TrafficSplit;

namespace Gateway;

internal static class GatewayPipeline
{
    /// <summary>The app pipeline (every request, both listeners), then the endpoints: management and the proxy routes.</summary>
    public static WebApplication UseGatewayPipeline(this WebApplication app)
    {
        app.UseAccessLog();          // first: every proxy-listener request, its final status and whole duration
        app.UseHardening();          // 400 for what a proxy must not forward; trusted X-Forwarded-* only
        app.UseGracefulShutdown();   // in-flight count; Connection: close / GOAWAY while draining
        app.UseRouting();
        app.UseGatewayCors();        // the route's CorsPolicy (needs the endpoint); answers preflights, which carry no token
        app.UseGatewayAuthorization(); // the route's AuthorizationPolicy: 401/403 before a rate-limit permit is spent
        app.UseRateLimiter();        // the route's RateLimiterPolicy (needs the endpoint)
        app.UseRequestTimeouts();    // the route's Timeout (needs the endpoint)
        app.MapManagementEndpoints();
        app.MapReverseProxy(UseProxyPipeline).WithMetadata(ListenerMetadata.Proxy);
        return app;
    }

    /// <summary>YARP's own steps and ours, per proxied request.</summary>
    private static void UseProxyPipeline(IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseProxyMetrics();            // first: sees the final status and the whole duration
        proxy.UseDeclaredBodyLimit();       // 413 before anything is sent upstream
        proxy.UseRequestBuffering();        // the route's RequestBuffering: the whole body read (or refused) before anything is sent upstream
        proxy.UseTrafficSplit();            // the route's Split picks the cluster, its Mirror copies the request
        proxy.UseCircuitBreaker();          // 503 circuit_open at once beyond the cluster's limits, before anything is spent
        proxy.UsePoolTracking();            // a retired pool waits for the requests that picked it
        proxy.UseGatewaySessionAffinity();  // YARP's affinity, then outcome counting
        proxy.UseDrainAwareSelection();     // no new sessions on a draining destination
        proxy.UseLoadBalancing();
        proxy.UseUpstreamErrorResponses();  // JSON error body for the final outcome, 504 for a fired route timeout
        proxy.UseSafeRetries();             // inside the error bodies, outside passive health: every attempt is reported
        proxy.UsePassiveHealthChecks();
        proxy.UseUpstreamMetrics();         // times each attempt sent upstream
        proxy.UseAccessLogUpstream();       // last: counts and times the attempts for the access log
    }
}
