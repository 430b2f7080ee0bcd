using Gateway.Foundation;

namespace Gateway.SharedState;

internal static class SharedStateExtensions
{
    public static IServiceCollection AddSharedState(this IServiceCollection services)
    {
        services.AddGatewayOptions<RedisOptions, RedisOptionsValidator>(RedisOptions.SectionPath);
        services.AddSingleton<SharedRedis>();
        return services;
    }
}
