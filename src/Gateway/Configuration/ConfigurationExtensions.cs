using Gateway.Foundation;
using Microsoft.Extensions.Configuration.Json;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Configuration;

internal static class ConfigurationExtensions
{
    /// <summary>Built-in defaults, lowest precedence: the gateway runs with no appsettings.json at all.</summary>
    private static readonly Dictionary<string, string?> BuiltInDefaults = new()
    {
        ["Kestrel:Endpoints:Proxy:Url"] = "http://0.0.0.0:8080",
        ["Kestrel:Endpoints:Management:Url"] = "http://0.0.0.0:8081",

        // A failing readiness check while draining is expected; the drain phases are logged by Gateway.Shutdown.
        ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService"] = "Critical",

        // YARP logs every forwarding failure at Warning with its stack trace, client-caused ones too; the gateway reports
        // each request's final outcome itself, in one line (Gateway.ErrorResponses, events 9601/9602).
        ["Logging:LogLevel:Yarp.ReverseProxy.Forwarder.HttpForwarder"] = "Error",
    };

    /// <summary>
    /// Adds the gateway config file (<c>--config</c>, <c>GATEWAY_CONFIG</c> or <c>config/gateway.json</c>) above
    /// appsettings*.json and below environment variables and the command line, and the store that reloads it.
    /// </summary>
    public static WebApplicationBuilder AddGatewayConfiguration(this WebApplicationBuilder builder, string[] args)
    {
        var path = GatewayConfigFile.Resolve(args, Environment.GetEnvironmentVariable);
        var initial = GatewayConfigFile.Read(path);
        var provider = new GatewayConfigProvider(initial.Data);

        var sources = builder.Configuration.Sources;
        var insertAt = 0;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is JsonConfigurationSource)
            {
                insertAt = i + 1;
            }
        }

        sources.Insert(insertAt, new GatewayConfigSource(provider));
        sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = BuiltInDefaults });

        var services = builder.Services;
        services.AddSingleton(new GatewayConfigFileState(path, provider, initial));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<GatewayProxyConfigProvider>();
        services.AddSingleton<ConfigMetrics>();
        services.AddReverseProxy();
        services.AddSingleton<IProxyConfigProvider>(sp => sp.GetRequiredService<GatewayProxyConfigProvider>());
        services.AddSingleton<GatewayConfigStore>();
        services.AddHostedService(sp => sp.GetRequiredService<GatewayConfigStore>());
        services.AddGatewayOptions<ConfigurationOptions, ConfigurationOptionsValidator>(ConfigurationOptions.SectionPath);
        services.AddSingleton<IAdminEndpoints, ConfigAdminEndpoints>();
        services.AddSingleton<IGatewayConfigCheck, KestrelEndpointCheck>();
        services.AddSingleton<StartupSummary>();
        services.AddSingleton<IStartupSummaryPart, ListenersSummaryPart>();
        return builder;
    }

    /// <summary>Validates and applies the initial config; prints every problem and returns false when it is bad.</summary>
    public static bool ValidateGatewayConfiguration(this WebApplication app)
    {
        var store = app.Services.GetRequiredService<GatewayConfigStore>();
        var errors = store.LoadInitial();
        if (errors.Count == 0)
        {
            return true;
        }

        var error = Console.Error;
        error.WriteLine($"Gateway configuration is invalid ({store.Path}); not starting:");
        foreach (var message in errors)
        {
            error.WriteLine($"  - {message}");
        }

        error.Flush();
        return false;
    }
}
