using Gateway.Foundation;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Management;

internal static class ManagementExtensions
{
    public static IServiceCollection AddManagement(this IServiceCollection services)
    {
        services.AddGatewayOptions<AdminOptions, AdminOptionsValidator>(AdminOptions.SectionPath);
        services.AddSingleton<IStartupSummaryPart, AdminSummaryPart>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, ListenerMatcherPolicy>());
        services.AddHealthChecks();

        // Marks connections of the "Management" endpoint, so routing can keep the two listeners apart.
        services.AddListenerConnectionMiddleware(ListenerMetadata.ManagementEndpointName, static _ => ManagementConnectionFeature.Middleware);
        return services;
    }

    public static IEndpointRouteBuilder MapManagementEndpoints(this IEndpointRouteBuilder app)
    {
        var management = app.MapGroup(string.Empty).WithMetadata(ListenerMetadata.Management);
        management.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = static _ => false });
        management.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = static check => check.Tags.Contains(HealthTags.Readiness) });
        management.MapPrometheusScrapingEndpoint("/metrics");
        management.MapAdminApi();
        return app;
    }
}
