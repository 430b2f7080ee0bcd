using Gateway.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.SessionAffinity;

namespace Gateway.Affinity;

internal static class AffinityExtensions
{
    /// <summary>Cookie defaults, key ring, failure-policy observation and destination drain. Call after AddReverseProxy.</summary>
    public static IServiceCollection AddAffinity(this IServiceCollection services)
    {
        services.AddGatewayOptions<AffinityOptions, AffinityOptionsValidator>(AffinityOptions.SectionPath);
        services.AddSingleton<IProxyConfigFilter, AffinityDefaultsFilter>();
        services.AddAffinityKeyRing();
        services.AddSingleton<DestinationDrain>();
        services.AddSingleton<AffinityMetrics>();
        services.AddSingleton<DrainAwareSelection>();
        services.AddSingleton<DrainSync>();
        services.AddHostedService(sp => sp.GetRequiredService<DrainSync>());
        DecorateFailurePolicies(services);
        return services;
    }

    /// <summary>Our step between YARP's session affinity and load balancing (see <see cref="DrainAwareSelection"/>).</summary>
    public static IReverseProxyApplicationBuilder UseDrainAwareAffinity(this IReverseProxyApplicationBuilder proxy)
    {
        var selection = proxy.ApplicationServices.GetRequiredService<DrainAwareSelection>();
        proxy.Use(selection.InvokeAsync);
        return proxy;
    }

    // Replaces every registered IAffinityFailurePolicy with a decorator around the same implementation.
    private static void DecorateFailurePolicies(IServiceCollection services)
    {
        var registered = services.Where(static d => d.ServiceType == typeof(IAffinityFailurePolicy) && !d.IsKeyedService).ToList();
        foreach (var descriptor in registered)
        {
            services.Remove(descriptor);
            services.Add(ServiceDescriptor.Singleton<IAffinityFailurePolicy>(sp => new ObservedAffinityFailurePolicy(
                Create<IAffinityFailurePolicy>(sp, descriptor),
                sp.GetRequiredService<AffinityMetrics>(),
                sp.GetRequiredService<ILogger<ObservedAffinityFailurePolicy>>())));
        }
    }

    /// <summary>The service a removed registration would have produced, for a decorator to wrap.</summary>
    internal static T Create<T>(IServiceProvider services, ServiceDescriptor descriptor) =>
        (T)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(services)
            ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));
}
