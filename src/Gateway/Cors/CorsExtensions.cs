using Gateway.Foundation;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Gateway.Cors;

internal static class CorsExtensions
{
    /// <summary>CORS policies from <c>Gateway:Cors</c> on ASP.NET Core's CORS middleware, for YARP's route <c>CorsPolicy</c>.</summary>
    public static IServiceCollection AddGatewayCors(this IServiceCollection services)
    {
        services.AddGatewayOptions<GatewayCorsOptions, GatewayCorsOptionsValidator>(GatewayCorsOptions.SectionPath);
        services.AddSingleton<IGatewayConfigCheck, RouteCorsPolicyCheck>();
        services.AddSingleton<IStartupSummaryPart, CorsSummaryPart>();
        services.AddCors();
        services.Replace(ServiceDescriptor.Singleton<ICorsPolicyProvider, ConfigCorsPolicyProvider>());
        return services;
    }

    /// <summary>
    /// After routing (it reads the route's CORS metadata), before authorization: a preflight carries no token and is
    /// answered here (204) without reaching the upstream, and a 401/403 still carries the CORS headers the page needs to read it.
    /// </summary>
    public static WebApplication UseGatewayCors(this WebApplication app)
    {
        // Only requests to a route with a CorsPolicy enter the middleware (it would give every other request an Items
        // dictionary, and leave it alone anyway).
        app.UseWhen(static context => context.GetEndpoint()?.Metadata.GetMetadata<ICorsMetadata>() is not null, static branch => branch.Use(next =>
        {
            // CorsMiddleware built here and called directly, not through UseCors: UseMiddleware binds an Invoke with a
            // service parameter by reflection when code cannot be generated at run time, so in the native build every
            // CORS request went through MethodInfo.Invoke and a request service scope (a pinned profile of a route with
            // CORS and compression on: 0.85x -> 0.88x of the plain route's req/s). The policy provider is a singleton
            // (ConfigCorsPolicyProvider), so resolving it once changes nothing else.
            var services = branch.ApplicationServices;
            var corsService = services.GetRequiredService<ICorsService>();
            var middleware = new CorsMiddleware(next, corsService, services.GetRequiredService<ILoggerFactory>());
            return new ActualRequestCors(next, middleware, services.GetRequiredService<ICorsPolicyProvider>(), corsService).Invoke;
        }));
        return app;
    }
}
