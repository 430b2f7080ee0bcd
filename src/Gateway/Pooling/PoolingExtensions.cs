using Gateway.Configuration;
using Gateway.Proxy;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Gateway.Pooling;

internal static class PoolingExtensions
{
    public static IServiceCollection AddConnectionPools(this IServiceCollection services)
    {
        services.AddGatewayOptions<ConnectionPoolOptions, ConnectionPoolOptionsValidator>(ConnectionPoolOptions.DefaultsSectionPath);
        services.AddSingleton<IGatewayConfigCheck, ClusterConnectionPoolCheck>();
        services.AddSingleton<ClusterPools>();
        services.AddSingleton<PoolRetirement>();
        services.AddSingleton<PoolMetrics>();
        services.AddSingleton<ClusterPoolFactory>();
        // Replaces YARP's factory; AddReverseProxy has run in AddGatewayConfiguration.
        services.Replace(ServiceDescriptor.Singleton<IForwarderHttpClientFactory>(sp => sp.GetRequiredService<ClusterPoolFactory>()));
        services.AddSingleton<IClusterChangeListener, PoolClusterChangeListener>();
        return services;
    }

    /// <summary>Counts a request against its cluster's pool from routing to the end of the response body.</summary>
    public static IReverseProxyApplicationBuilder UsePoolTracking(this IReverseProxyApplicationBuilder proxy)
    {
        // The RequestDelegate overload: the Func<Task> one allocates a closure per request (96 B, micro-benchmark).
        proxy.Use(static (HttpContext context, RequestDelegate next) =>
        {
            if (context.GetReverseProxyFeature().Cluster.HttpClient is not ClusterInvoker invoker)
            {
                return next(context);
            }

            invoker.Enter();
            return RequestCompletion.InvokeThen(next, context, invoker, static (_, entered) => entered.Exit());
        });
        return proxy;
    }
}
