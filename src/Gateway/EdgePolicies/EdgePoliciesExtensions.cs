using Gateway.Foundation;

namespace Gateway.EdgePolicies;

internal static class EdgePoliciesExtensions
{
    /// <summary>
    /// YARP's route policy keys (<c>AuthorizationPolicy</c>, <c>CorsPolicy</c>, <c>OutputCachePolicy</c>): the values
    /// YARP defines without code (<c>Anonymous</c>, <c>Disable</c>) work; the rest are refused at validation, because
    /// they need policies the gateway cannot yet define from config and would answer 500 to every request.
    /// </summary>
    public static IServiceCollection AddEdgePolicies(this IServiceCollection services)
    {
        services.AddCors(); // "CorsPolicy": "Disable" puts CORS metadata on the route, which needs the CORS middleware.
        services.AddSingleton<IGatewayConfigCheck, RoutePolicyCheck>();
        return services;
    }

    /// <summary>After routing: the CORS middleware reads the route's CORS metadata.</summary>
    public static WebApplication UseEdgePolicies(this WebApplication app)
    {
        app.UseCors();
        return app;
    }
}
