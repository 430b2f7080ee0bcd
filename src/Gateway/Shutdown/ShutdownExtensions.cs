using Gateway.Foundation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Gateway.Shutdown;

internal static class ShutdownExtensions
{
    private static readonly TimeSpan HostShutdownMargin = TimeSpan.FromSeconds(5);

    /// <summary>The graceful-drain shutdown sequence, readiness, the drain gauges and <c>POST /admin/drain</c>.</summary>
    public static IServiceCollection AddGracefulShutdown(this IServiceCollection services)
    {
        services.AddGatewayOptions<ShutdownOptions, ShutdownOptionsValidator>(ShutdownOptions.SectionPath);
        services.AddSingleton<IStartupSummaryPart, ShutdownSummaryPart>();
        services.AddSingleton<DrainState>();
        services.TryAddSingleton<OpenStreams>();
        services.AddSingleton<ShutdownMetrics>();
        services.AddSingleton<ShutdownRequestStep>();
        services.AddSingleton<ShutdownSequence>();
        services.AddHostedService(sp => sp.GetRequiredService<ShutdownSequence>());
        services.AddHealthChecks().AddCheck<ReadinessHealthCheck>("draining", tags: [HealthTags.Readiness]);
        services.AddSingleton<IAdminEndpoints, ShutdownAdminEndpoints>();

        // The host's own timeout must never cut our phases short; our phases carry their own deadlines.
        // Read at start: a reload that lengthens the phases takes full effect after the next restart.
        services.AddOptions<HostOptions>().Configure<IOptions<ShutdownOptions>>((host, shutdown) =>
            host.ShutdownTimeout = shutdown.Value.Total + HostShutdownMargin);
        return services;
    }

    /// <summary>Counts proxied requests in flight and, while draining, asks clients to reconnect elsewhere.</summary>
    public static IApplicationBuilder UseGracefulShutdown(this IApplicationBuilder app)
    {
        _ = app.ApplicationServices.GetRequiredService<ShutdownMetrics>();
        return app.UseStep<ShutdownRequestStep>();
    }
}
