using Gateway.Foundation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Gateway.AccessLog;

internal static class AccessLogExtensions
{
    /// <summary>The access log (<c>Gateway:AccessLog</c>): options, the writer and its thread, the two request steps.</summary>
    public static IServiceCollection AddAccessLog(this IServiceCollection services)
    {
        services.AddGatewayOptions<AccessLogOptions, AccessLogOptionsValidator>(AccessLogOptions.SectionPath);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<AccessLogMetrics>();
        services.AddSingleton<AccessLogWriter>();
        services.AddHostedService(static sp => sp.GetRequiredService<AccessLogWriter>());
        services.AddSingleton<AccessLogStep>();
        services.AddSingleton<AccessLogUpstreamStep>();
        return services;
    }

    /// <summary>
    /// One line per request on the proxy listener. Put it first in the app pipeline: it sees the gateway's own refusals
    /// (400s, 404 no route, 429) and the whole duration, and reads the client address once the trusted forwarded headers
    /// (applied after it) have rewritten it. Nothing is added while <c>Gateway:AccessLog:Enabled</c> is false.
    /// </summary>
    public static IApplicationBuilder UseAccessLog(this IApplicationBuilder app)
    {
        var services = app.ApplicationServices;
        var options = services.GetRequiredService<IOptions<AccessLogOptions>>().Value;
        var logger = services.GetRequiredService<ILogger<AccessLogOptions>>();
        services.GetRequiredService<IOptionsMonitor<AccessLogOptions>>().OnChange(current =>
        {
            if (current.Enabled != options.Enabled || current.Format != options.Format || current.BufferSize != options.BufferSize)
            {
                Log.RestartNeeded(logger);
            }
        });

        if (!options.Enabled)
        {
            return app;
        }

        Log.AccessLogOn(logger, options.SampleRate, options.BufferSize);
        return app.UseStep<AccessLogStep>();
    }

    /// <summary>Counts and times the attempts sent upstream. Put it last, right before YARP's forwarder.</summary>
    public static IReverseProxyApplicationBuilder UseAccessLogUpstream(this IReverseProxyApplicationBuilder proxy)
    {
        if (proxy.ApplicationServices.GetRequiredService<IOptions<AccessLogOptions>>().Value.Enabled)
        {
            proxy.UseStep<AccessLogUpstreamStep>();
        }

        return proxy;
    }
}
