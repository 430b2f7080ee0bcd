using Gateway.Foundation;

namespace Gateway.DestinationDraining;

internal static class DestinationDrainingExtensions
{
    /// <summary>Drain marks (shared through Redis when configured), their admin API, gauge and drain-aware selection.</summary>
    public static IServiceCollection AddDestinationDraining(this IServiceCollection services)
    {
        services.AddGatewayOptions<DrainOptions, DrainOptionsValidator>(DrainOptions.SectionPath);
        services.AddSingleton<DestinationDrain>();
        services.AddSingleton<DrainMetrics>();
        services.AddSingleton<DrainAwareSelection>();
        services.AddSingleton<DrainSync>();
        services.AddHostedService(sp => sp.GetRequiredService<DrainSync>());
        services.AddSingleton<IAdminEndpoints, DrainAdminEndpoints>();
        services.AddSingleton<IAdminDestinationDetails, DrainDestinationDetails>();
        return services;
    }

    /// <summary>Between YARP's session affinity and load balancing (see <see cref="DrainAwareSelection"/>).</summary>
    public static IReverseProxyApplicationBuilder UseDrainAwareSelection(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseStep<DrainAwareSelection>();
        return proxy;
    }
}
