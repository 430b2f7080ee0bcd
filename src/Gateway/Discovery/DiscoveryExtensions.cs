using Gateway.Foundation;
using Yarp.ReverseProxy.Model;

namespace Gateway.Discovery;

internal static class DiscoveryExtensions
{
    /// <summary>
    /// The per-cluster <c>Discovery</c> block (Kubernetes EndpointSlices or DNS), its defaults in <c>Gateway:Discovery</c>,
    /// discovered destinations and drain marks, metrics, start-up readiness and the admin view.
    /// </summary>
    public static IServiceCollection AddDiscovery(this IServiceCollection services)
    {
        services.AddGatewayOptions<DiscoveryOptions, DiscoveryDefaultsValidator>(DiscoveryOptions.DefaultsSectionPath);
        services.AddExtensionBlock(DiscoveryOptions.Block);
        services.AddSingleton<DiscoveryManager>();
        services.AddSingleton<IDestinationSource>(sp => sp.GetRequiredService<DiscoveryManager>());
        services.AddSingleton<IDestinationDrainSource>(sp => sp.GetRequiredService<DiscoveryManager>());
        services.AddSingleton<IClusterChangeListener>(sp => sp.GetRequiredService<DiscoveryManager>());
        services.AddHostedService(sp => sp.GetRequiredService<DiscoveryManager>());
        services.AddSingleton<DiscoveryMetrics>();
        services.AddHostedService<DiscoveryMetricsStarter>();
        services.AddSingleton<DiscoveryAdminDetails>();
        services.AddSingleton<IAdminDestinationDetails>(sp => sp.GetRequiredService<DiscoveryAdminDetails>());
        services.AddSingleton<IAdminClusterDetails>(sp => sp.GetRequiredService<DiscoveryAdminDetails>());
        services.AddHealthChecks().AddCheck<DiscoveryReadinessCheck>("discovery", tags: [HealthTags.Readiness]);
        return services;
    }

    /// <summary>Creates the discovery instruments at start, so they are exported from the first scrape.</summary>
    private sealed class DiscoveryMetricsStarter(DiscoveryMetrics metrics) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = metrics;
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
