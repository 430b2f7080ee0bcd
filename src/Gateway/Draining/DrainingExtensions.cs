using Gateway.Configuration;
using Gateway.Management;
using Gateway.Proxy;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;

namespace Gateway.Draining;

internal static class DrainingExtensions
{
    private static readonly TimeSpan HostShutdownMargin = TimeSpan.FromSeconds(5);

    public static IServiceCollection AddDraining(this IServiceCollection services)
    {
        services.AddGatewayOptions<ShutdownOptions, ShutdownOptionsValidator>(ShutdownOptions.SectionPath);
        services.AddSingleton<DrainState>();
        services.AddSingleton<ShutdownSequence>();
        services.AddHostedService(sp => sp.GetRequiredService<ShutdownSequence>());
        services.AddHealthChecks().AddCheck<ReadinessHealthCheck>("draining", tags: [ManagementExtensions.ReadinessTag]);

        // The host's own timeout must never cut our phases short; our phases carry their own deadlines.
        // Read at start: a reload that lengthens the phases takes full effect after the next restart.
        services.AddOptions<HostOptions>().Configure<IOptions<ShutdownOptions>>((host, shutdown) =>
            host.ShutdownTimeout = shutdown.Value.Total + HostShutdownMargin);
        return services;
    }

    /// <summary>
    /// Counts proxied requests in flight, and while draining asks clients to reconnect elsewhere:
    /// HTTP/1.1 responses carry <c>Connection: close</c>, HTTP/2 connections get a GOAWAY.
    /// </summary>
    public static IApplicationBuilder UseDraining(this IApplicationBuilder app)
    {
        var state = app.ApplicationServices.GetRequiredService<DrainState>();
        return app.Use((context, next) =>
        {
            if (ManagementConnectionFeature.IsManagement(context))
            {
                return next(context);
            }

            if (state.IsDraining)
            {
                AskToReconnect(context);
            }

            state.RequestStarted();
            return RequestCompletion.InvokeThen(next, context, state, static (_, drain) => drain.RequestEnded());
        });
    }

    private static void AskToReconnect(HttpContext context)
    {
        if (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
        {
            context.Response.Headers.Connection = "close";
        }

        // HTTP/1.1: no keep-alive after this response; HTTP/2: a graceful GOAWAY.
        context.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
    }
}
