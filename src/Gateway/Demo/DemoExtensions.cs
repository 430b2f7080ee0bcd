using Gateway.Foundation;

namespace Gateway.Demo;

internal static class DemoExtensions
{
    public static IServiceCollection AddDemoUpstreams(this IServiceCollection services)
    {
        services.AddGatewayOptions<DemoOptions, DemoOptionsValidator>(DemoOptions.SectionPath);
        services.AddHostedService<DemoUpstreams>();
        return services;
    }
}
