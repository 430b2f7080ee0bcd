using Gateway.Configuration;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Management;

internal static class ManagementExtensions
{
    public const string ManagementEndpointName = "Management";
    public const string ReadinessTag = "ready";

    public static IServiceCollection AddManagement(this IServiceCollection services)
    {
        services.AddGatewayOptions<AdminOptions, AdminOptionsValidator>(AdminOptions.SectionPath);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, ListenerMatcherPolicy>());
        services.AddHealthChecks();

        // Mark connections of the named "Management" endpoint; replaces the default Kestrel config loader with
        // one that knows that hook. Listeners are fixed at start (a reload never rebinds ports).
        services.AddOptions<KestrelServerOptions>().Configure<IConfiguration>((kestrel, configuration) =>
            kestrel.Configure(configuration.GetSection("Kestrel"), reloadOnChange: false)
                .Endpoint(ManagementEndpointName, endpoint => endpoint.ListenOptions.Use(ManagementConnectionFeature.Middleware)));
        return services;
    }

    public static IEndpointRouteBuilder MapManagementEndpoints(this IEndpointRouteBuilder app)
    {
        var management = app.MapGroup(string.Empty).WithMetadata(ListenerMetadata.Management);
        management.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = static _ => false });
        management.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = static check => check.Tags.Contains(ReadinessTag) });
        management.MapPrometheusScrapingEndpoint("/metrics");
        management.MapAdminApi();
        return app;
    }
}
