using Gateway.Foundation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Gateway.Pooling;

internal static class PoolingExtensions
{
    public static IServiceCollection AddConnectionPools(this IServiceCollection services)
    {
        services.AddGatewayOptions<ConnectionPoolOptions, ConnectionPoolOptionsValidator>(ConnectionPoolOptions.DefaultsSectionPath);
        services.AddExtensionBlock(ConnectionPoolOptions.Block);
        services.AddSingleton<PoolTrackingStep>();
        services.AddSingleton<ClusterPools>();
        services.TryAddSingleton<OpenStreams>();
        services.AddSingleton<PoolRetirement>();
        services.AddSingleton<PoolMetrics>();
        services.AddSingleton<ClusterPoolFactory>();
        // Replaces YARP's factory; AddReverseProxy has run in AddGatewayConfiguration.
        services.Replace(ServiceDescriptor.Singleton<IForwarderHttpClientFactory>(sp => sp.GetRequiredService<ClusterPoolFactory>()));
        services.AddSingleton<IClusterChangeListener, PoolClusterChangeListener>();
        services.AddSingleton<IConfigChangePreview, PoolChangePreview>();
        return services;
    }

    /// <summary>Counts a request against its cluster's pool from routing to the end of the response body.</summary>
    public static IReverseProxyApplicationBuilder UsePoolTracking(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseStep<PoolTrackingStep>();
        return proxy;
    }
}
