using Gateway.Foundation;

namespace Gateway.TrafficSplit;

internal static class TrafficSplitExtensions
{
    /// <summary>Route-level <c>Split</c> (weighted and sticky canary splits, header/cookie overrides) and <c>Mirror</c> blocks.</summary>
    public static IServiceCollection AddTrafficSplit(this IServiceCollection services)
    {
        services.AddExtensionBlock(SplitOptions.Block);
        services.AddExtensionBlock(MirrorOptions.Block);
        services.AddSingleton<IGatewayConfigCheck, TrafficReferencesCheck>();
        services.AddDataProtection(); // the key ring itself is configured by session affinity (shared through Redis)
        services.AddSingleton<CohortCookie>();
        services.AddSingleton<TrafficMetrics>();
        services.AddSingleton<SplitStep>();
        services.AddSingleton<MirrorSender>();
        services.AddSingleton<MirrorStep>();
        services.AddSingleton<IAdminEndpoints, TrafficAdminEndpoints>();
        return services;
    }

    /// <summary>Before pool tracking and affinity: they must see the cluster the split chose.</summary>
    public static IReverseProxyApplicationBuilder UseTrafficSplit(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseStep<SplitStep>();
        proxy.UseStep<MirrorStep>();
        return proxy;
    }
}
