using Gateway.Foundation;

namespace Gateway.Retries;

internal static class RetriesExtensions
{
    /// <summary>Safe, budgeted retries: the <c>Retry</c> block, its defaults in <c>Gateway:Retry</c>, and the step.</summary>
    public static IServiceCollection AddRetries(this IServiceCollection services)
    {
        services.AddGatewayOptions<RetryOptions, RetryOptionsValidator>(RetryOptions.DefaultsSectionPath);
        services.AddExtensionBlock(RetryOptions.Block);
        services.AddSingleton<RetryMetrics>();
        services.AddSingleton<SafeRetryStep>();
        return services;
    }

    /// <summary>After load balancing and before passive health, so every attempt is reported to the passive policy.</summary>
    public static IReverseProxyApplicationBuilder UseSafeRetries(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseStep<SafeRetryStep>();
        return proxy;
    }
}
