using Gateway.Foundation;
using Microsoft.AspNetCore.RateLimiting;

namespace Gateway.RateLimiting;

internal static class RateLimitingExtensions
{
    /// <summary>
    /// Registers every policy under Gateway:RateLimiting:Policies with ASP.NET Core's rate limiter, by name, for YARP's
    /// route RateLimiterPolicy. Pair with <c>app.UseRateLimiter()</c> after <c>app.UseRouting()</c>.
    /// </summary>
    public static IServiceCollection AddRateLimiting(this IServiceCollection services)
    {
        services.AddGatewayOptions<RateLimitingOptions, RateLimitingOptionsValidator>(RateLimitingOptions.SectionPath);
        services.AddSingleton<IGatewayConfigCheck, RouteRateLimiterPolicyCheck>();
        services.AddSingleton<RateLimitPolicies>();
        services.AddSingleton<IStartupSummaryPart, RateLimitSummaryPart>();
        services.AddSingleton<RateLimitMetrics>();
        services.AddSingleton<RedisRateLimitStore>();
        services.AddHostedService(sp => sp.GetRequiredService<RedisRateLimitStore>());
        services.AddRateLimiter(static _ => { });
        services.AddOptions<RateLimiterOptions>().Configure<RateLimitPolicies, IServiceProvider>(static (options, policies, provider) =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            foreach (var name in policies.RegisteredNames)
            {
                options.AddPolicy(name, ActivatorUtilities.CreateInstance<GatewayRateLimiterPolicy>(provider, name));
            }
        });
        return services;
    }
}
