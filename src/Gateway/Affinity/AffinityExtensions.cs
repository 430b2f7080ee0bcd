using Gateway.Foundation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.SessionAffinity;

namespace Gateway.Affinity;

internal static class AffinityExtensions
{
    /// <summary>Cookie defaults, key ring, cookie decryption cache and failure-policy observation. Call after AddReverseProxy.</summary>
    public static IServiceCollection AddAffinity(this IServiceCollection services)
    {
        services.AddGatewayOptions<AffinityOptions, AffinityOptionsValidator>(AffinityOptions.SectionPath);
        services.AddSingleton(new RestartRequiredSection(AffinityOptions.SectionPath, "the Data Protection key ring is set up at start"));
        services.AddSingleton<IProxyConfigFilter, AffinityDefaultsFilter>();
        services.AddAffinityKeyRing();
        services.AddSingleton<AffinityMetrics>();
        services.AddSingleton<AffinityOutcomeStep>();
        DecorateFailurePolicies(services);
        return services;
    }

    /// <summary>YARP's session affinity step followed by ours, which counts its outcomes.</summary>
    public static IReverseProxyApplicationBuilder UseGatewaySessionAffinity(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseSessionAffinity();
        proxy.UseStep<AffinityOutcomeStep>();
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
