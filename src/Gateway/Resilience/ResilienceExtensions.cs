using Gateway.Configuration;
using Gateway.Pooling;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;

namespace Gateway.Resilience;

internal static class ResilienceExtensions
{
    /// <summary>
    /// Passive-health defaults and the ConsecutiveFailures policy, retry settings and their validation, metrics, and
    /// ASP.NET Core's request timeouts (YARP's route <c>Timeout</c> needs them; <c>app.UseRequestTimeouts()</c> after UseRouting).
    /// </summary>
    public static IServiceCollection AddResilience(this IServiceCollection services)
    {
        services.AddGatewayOptions<RetryOptions, RetryOptionsValidator>(RetryOptions.DefaultsSectionPath);
        services.AddGatewayOptions<PassiveHealthDefaultsOptions, PassiveHealthDefaultsValidator>(PassiveHealthDefaultsOptions.SectionPath);
        services.AddSingleton<IGatewayConfigCheck, ClusterResilienceCheck>();
        services.AddSingleton<ResilienceMetrics>();
        services.AddSingleton<ConsecutiveFailuresPolicy>();
        services.AddSingleton<IPassiveHealthCheckPolicy>(sp => sp.GetRequiredService<ConsecutiveFailuresPolicy>());
        services.AddSingleton<IUpstreamConnectObserver, ConnectFailureEjection>();
        services.AddSingleton<IProxyConfigFilter, HealthCheckDefaultsFilter>();
        services.AddRequestTimeouts();
        return services;
    }

    /// <summary>Safe, budgeted retries and upstream error bodies; place after UseLoadBalancing and before UsePassiveHealthChecks.</summary>
    public static IReverseProxyApplicationBuilder UseSafeRetries(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseMiddleware<SafeRetryMiddleware>();
        return proxy;
    }
}
