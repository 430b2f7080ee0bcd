using Gateway.Foundation;
using Gateway.Pooling;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Gateway.PassiveHealth;

internal static class PassiveHealthExtensions
{
    /// <summary>
    /// Passive health on by default, the ConsecutiveFailures policy (outlier ejection), ejection at the socket for a
    /// refused connect under any passive policy, the defaults and the check of every cluster's health-check policy names.
    /// Call after AddReverseProxy (it wraps YARP's availability policies).
    /// </summary>
    public static IServiceCollection AddPassiveHealth(this IServiceCollection services)
    {
        services.AddGatewayOptions<PassiveHealthDefaultsOptions, PassiveHealthDefaultsValidator>(PassiveHealthDefaultsOptions.SectionPath);
        services.AddExtensionBlock(PassiveHealthDefaultsOptions.Block);
        services.AddSingleton<IGatewayConfigCheck, HealthCheckConfigCheck>();
        services.AddSingleton<PassiveHealthMetrics>();
        services.AddSingleton<ConsecutiveFailuresPolicy>();
        services.AddSingleton<IPassiveHealthCheckPolicy>(sp => sp.GetRequiredService<ConsecutiveFailuresPolicy>());
        services.AddSingleton<SocketEjection>();
        DecorateAvailabilityPolicies(services);
        services.AddSingleton<ConnectFailureEjection>();
        services.AddSingleton<IUpstreamConnectObserver>(sp => sp.GetRequiredService<ConnectFailureEjection>());
        services.AddSingleton<IClusterChangeListener>(sp => sp.GetRequiredService<ConnectFailureEjection>());
        services.AddSingleton<IProxyConfigFilter, HealthCheckDefaultsFilter>();
        return services;
    }

    // Replaces every registered IAvailableDestinationsPolicy with one that also leaves out destinations ejected at the socket.
    private static void DecorateAvailabilityPolicies(IServiceCollection services)
    {
        var registered = services.Where(static d => d.ServiceType == typeof(IAvailableDestinationsPolicy) && !d.IsKeyedService).ToList();
        foreach (var descriptor in registered)
        {
            services.Remove(descriptor);
            services.Add(ServiceDescriptor.Singleton<IAvailableDestinationsPolicy>(sp => new SocketAwareDestinationsPolicy(
                (IAvailableDestinationsPolicy)(descriptor.ImplementationInstance
                    ?? descriptor.ImplementationFactory?.Invoke(sp)
                    ?? ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!)),
                sp.GetRequiredService<SocketEjection>())));
        }
    }
}
