using Gateway.Foundation;

namespace Gateway.SharedState;

internal static class SharedStateExtensions
{
    public static IServiceCollection AddSharedState(this IServiceCollection services)
    {
        services.AddGatewayOptions<RedisOptions, RedisOptionsValidator>(RedisOptions.SectionPath);
        services.AddSingleton(new RestartRequiredSection(RedisOptions.SectionPath, "the Redis connection is made at start"));
        services.AddSingleton<SharedRedis>();
        services.AddSingleton<IStartupSummaryPart, RedisSummaryPart>();
        return services;
    }
}
