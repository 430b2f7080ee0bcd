using Gateway.Foundation;
using Gateway.SharedState;
using Microsoft.AspNetCore.OutputCaching;

namespace Gateway.OutputCaching;

internal static class OutputCachingExtensions
{
    /// <summary>Responses to GET/HEAD bodies over this size are forwarded, never stored (ASP.NET Core's default is 64 MiB).</summary>
    internal const long MaximumBodyBytes = 1024 * 1024;

    /// <summary>
    /// Registers every policy under Gateway:OutputCache:Policies with ASP.NET Core's output cache, by name, for YARP's
    /// route OutputCachePolicy; entries in Redis when Gateway:Redis is set, in memory otherwise.
    /// </summary>
    public static IServiceCollection AddOutputCaching(this IServiceCollection services)
    {
        services.AddGatewayOptions<OutputCachingOptions, OutputCachingOptionsValidator>(OutputCachingOptions.SectionPath);
        services.AddSingleton<IGatewayConfigCheck, RouteOutputCachePolicyCheck>();
        services.AddSingleton<OutputCachePolicies>();
        services.AddSingleton<OutputCacheMetrics>();
        services.AddSingleton<IStartupSummaryPart, OutputCacheSummaryPart>();
        services.AddHostedService<OutputCacheStoreWarmUp>();
        services.AddOutputCache();
        services.AddOptions<OutputCacheOptions>().Configure<OutputCachePolicies, IServiceProvider>(static (options, policies, provider) =>
        {
            options.MaximumBodySize = MaximumBodyBytes;
            options.UseCaseSensitivePaths = true; // paths are forwarded as sent; /A and /a may be different resources upstream
            foreach (var name in policies.RegisteredNames)
            {
                options.AddPolicy(name, ActivatorUtilities.CreateInstance<ConfiguredOutputCachePolicy>(provider, name));
            }
        });

        // ASP.NET Core's in-memory store is internal: keep its registration for single-replica mode, Redis otherwise.
        var memoryStore = services.Last(d => d.ServiceType == typeof(IOutputCacheStore));
        services.Remove(memoryStore);
        services.AddSingleton<IOutputCacheStore>(sp => sp.GetRequiredService<SharedRedis>().IsConfigured
            ? ActivatorUtilities.CreateInstance<RedisOutputCacheStore>(sp)
            : (IOutputCacheStore)memoryStore.ImplementationFactory!(sp));
        return services;
    }

    /// <summary>After authorization and the rate limiter: a cached response is served only to a request that may have it.</summary>
    public static WebApplication UseOutputCaching(this WebApplication app)
    {
        app.UseOutputCache();
        return app;
    }
}
