using Gateway.Foundation;

namespace Gateway.CircuitBreaker;

internal static class CircuitBreakerExtensions
{
    /// <summary>A bound on each cluster's requests in flight: the <c>CircuitBreaker</c> block, its defaults in <c>Gateway:CircuitBreaker</c>, and the step.</summary>
    public static IServiceCollection AddCircuitBreaker(this IServiceCollection services)
    {
        services.AddGatewayOptions<CircuitBreakerOptions, CircuitBreakerOptionsValidator>(CircuitBreakerOptions.DefaultsSectionPath);
        services.AddExtensionBlock(CircuitBreakerOptions.Block);
        services.AddSingleton<CircuitBreakers>();
        services.AddSingleton<CircuitBreakerMetrics>();
        services.AddSingleton<CircuitBreakerStep>();
        return services;
    }

    /// <summary>Once the cluster is known (after the route's Split), before anything is spent on the request.</summary>
    public static IReverseProxyApplicationBuilder UseCircuitBreaker(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseStep<CircuitBreakerStep>();
        return proxy;
    }
}
