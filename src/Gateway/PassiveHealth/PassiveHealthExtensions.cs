using Gateway.Foundation;
using Gateway.Pooling;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Gateway.PassiveHealth;

internal static class PassiveHealthExtensions
{
    /// <summary>
    /// Passive health on by default, the ConsecutiveFailures policy (outlier ejection, also at the socket for a refused
    /// connect), its defaults and the check of every cluster's health-check policy names.
    /// </summary>
    public static IServiceCollection AddPassiveHealth(this IServiceCollection services)
    {
        services.AddGatewayOptions<PassiveHealthDefaultsOptions, PassiveHealthDefaultsValidator>(PassiveHealthDefaultsOptions.SectionPath);
        services.AddExtensionBlock(PassiveHealthDefaultsOptions.Block);
        services.AddSingleton<IGatewayConfigCheck, HealthCheckConfigCheck>();
        services.AddSingleton<PassiveHealthMetrics>();
        services.AddSingleton<ConsecutiveFailuresPolicy>();
        services.AddSingleton<IPassiveHealthCheckPolicy>(sp => sp.GetRequiredService<ConsecutiveFailuresPolicy>());
        services.AddSingleton<ConnectFailureEjection>();
        services.AddSingleton<IUpstreamConnectObserver>(sp => sp.GetRequiredService<ConnectFailureEjection>());
        services.AddSingleton<IClusterChangeListener>(sp => sp.GetRequiredService<ConnectFailureEjection>());
        services.AddSingleton<IProxyConfigFilter, HealthCheckDefaultsFilter>();
        return services;
    }
}
