using Gateway.Foundation;

namespace Gateway.EdgePolicies;

internal static class EdgePoliciesExtensions
{
    /// <summary>
    /// YARP's route <c>OutputCachePolicy</c>: refused at validation, because it needs policies the gateway cannot yet
    /// define from config and would answer 500 to every request. (<c>AuthorizationPolicy</c> is Authentication/'s,
    /// <c>CorsPolicy</c> is Cors/'s.)
    /// </summary>
    public static IServiceCollection AddEdgePolicies(this IServiceCollection services)
    {
        services.AddSingleton<IGatewayConfigCheck, RoutePolicyCheck>();
        return services;
    }
}
