using Gateway.Management;

namespace Gateway.Draining;

internal static class DrainingExtensions
{
    public static IServiceCollection AddDraining(this IServiceCollection services)
    {
        services.AddSingleton<DrainState>();
        services.AddHealthChecks().AddCheck<ReadinessHealthCheck>("draining", tags: [ManagementExtensions.ReadinessTag]);
        return services;
    }

    /// <summary>While draining, HTTP/1.1 responses carry <c>Connection: close</c> so clients reconnect elsewhere.</summary>
    public static IApplicationBuilder UseDraining(this IApplicationBuilder app)
    {
        var state = app.ApplicationServices.GetRequiredService<DrainState>();
        return app.Use((context, next) =>
        {
            if (state.IsDraining && !ManagementConnectionFeature.IsManagement(context))
            {
                context.Response.Headers.Connection = "close";
            }

            return next(context);
        });
    }
}
