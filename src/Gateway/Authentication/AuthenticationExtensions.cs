using Gateway.Foundation;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Gateway.Authentication;

internal static class AuthenticationExtensions
{
    private const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";
    private const string AuthorizationMiddlewareSetKey = "__AuthorizationMiddlewareSet";

    /// <summary>
    /// JWT bearer schemes (<c>Gateway:Authentication</c>) and authorization policies (<c>Gateway:Authorization</c>)
    /// from config, on ASP.NET Core's JwtBearer handler and authorization middleware, for YARP's route
    /// <c>AuthorizationPolicy</c>; the route <c>Authentication</c> block (Authorization header, claim headers).
    /// </summary>
    public static IServiceCollection AddGatewayAuthentication(this IServiceCollection services)
    {
        services.AddGatewayOptions<GatewayAuthenticationOptions, GatewayAuthenticationOptionsValidator>(GatewayAuthenticationOptions.SectionPath);
        services.AddGatewayOptions<GatewayAuthorizationOptions, GatewayAuthorizationOptionsValidator>(GatewayAuthorizationOptions.SectionPath);
        services.AddSingleton<IGatewayConfigCheck, AuthenticationReferencesCheck>();
        services.AddExtensionBlock(RouteAuthenticationOptions.Block);

        // What AddJwtBearer(name) registers, without fixing the scheme names at start (JwtSchemes adds them).
        services.AddAuthentication();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<JwtBearerOptions>, JwtBearerPostConfigureOptions>());
        services.AddSingleton<IConfigureOptions<JwtBearerOptions>, JwtBearerOptionsSetup>();
        services.TryAddTransient<JwtBearerHandler>();
        services.AddSingleton<JwtSchemes>();
        services.AddHostedService(sp => sp.GetRequiredService<JwtSchemes>());

        services.AddAuthorization();
        services.AddSingleton<IAuthorizationPolicyProvider, ConfigAuthorizationPolicyProvider>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AuthorizationResultHandler>();
        services.AddSingleton<AuthMetrics>();
        services.AddSingleton<IStartupSummaryPart, AuthenticationSummaryPart>();
        services.AddSingleton<IConfigChangePreview, AuthenticationChangePreview>();
        services.AddSingleton<Yarp.ReverseProxy.Transforms.Builder.ITransformProvider, ClaimHeadersTransformProvider>();
        return services;
    }

    /// <summary>
    /// After routing and CORS (a preflight carries no token): 401/403 before a rate-limit permit is spent. Only
    /// requests to a route with an <c>AuthorizationPolicy</c> other than <c>Anonymous</c> are authorized: a token the
    /// route's policy already allowed goes on at once (<see cref="CachedAuthorizationStep"/>), any other request enters
    /// ASP.NET Core's authorization middleware.
    /// </summary>
    public static IApplicationBuilder UseGatewayAuthorization(this IApplicationBuilder app)
    {
        // WebApplication puts UseAuthentication and UseAuthorization in front of the whole pipeline unless the app's
        // Properties carry these keys (which those two set, but ours run inside a branch, whose Properties are a copy).
        // With one scheme defined (then the default scheme) that ran the JwtBearer handler on every request with a
        // token, on every route, policy or not: a second authentication of each authorized request. The gateway
        // authenticates only for a route's policy, here.
        app.Properties[AuthenticationMiddlewareSetKey] = true;
        app.Properties[AuthorizationMiddlewareSetKey] = true;
        app.Use(next =>
        {
            var aspNetCore = app.New();
            aspNetCore.UseAuthorization();
            aspNetCore.Run(next);
            var services = app.ApplicationServices;
            return new CachedAuthorizationStep(
                next,
                aspNetCore.Build(),
                services.GetRequiredService<IAuthorizationPolicyProvider>(),
                services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>(),
                services.GetRequiredService<AuthMetrics>()).InvokeAsync;
        });
        return app;
    }
}
