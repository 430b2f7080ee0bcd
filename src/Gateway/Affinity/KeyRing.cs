// Where the Data Protection key ring that encrypts YARP's affinity cookies lives: in Redis when Redis is configured
// (every replica reads every replica's cookies), else a local directory or ASP.NET Core's default.
using Gateway.SharedState;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Affinity;

internal static class KeyRing
{
    public const string RedisKeyName = "dataprotection:keys";

    public static IServiceCollection AddAffinityKeyRing(this IServiceCollection services)
    {
        services.AddDataProtection();
        DecorateProvider(services);
        services.AddOptions<DataProtectionOptions>().Configure<IOptions<AffinityOptions>>((dp, affinity) =>
            dp.ApplicationDiscriminator = affinity.Value.ApplicationName);
        services.AddOptions<KeyManagementOptions>().Configure<SharedRedis, IOptions<AffinityOptions>, ILoggerFactory>((keys, redis, affinity, loggers) =>
        {
            if (redis.IsConfigured)
            {
                // The shared multiplexer connects in the background (abortConnect=false): Data Protection asks for the
                // database only when it loads the ring, so a Redis outage at start never blocks the gateway from starting.
                keys.XmlRepository = new RedisXmlRepository(() => Database(redis), redis.Key(RedisKeyName));
            }
            else if (affinity.Value.KeyRingDirectory is { } directory)
            {
                keys.XmlRepository = new FileSystemXmlRepository(Directory.CreateDirectory(directory), loggers);
            }
        });
        services.AddHostedService<KeyRingWarmup>();
        return services;
    }

    // Wraps the provider Data Protection registered, so YARP's affinity policies get the caching protector.
    private static void DecorateProvider(IServiceCollection services)
    {
        var registered = services.Last(static d => d.ServiceType == typeof(IDataProtectionProvider) && !d.IsKeyedService);
        services.Remove(registered);
        services.AddSingleton<IDataProtectionProvider>(sp => new AffinityCookieProtectionProvider(
            AffinityExtensions.Create<IDataProtectionProvider>(sp, registered),
            sp.GetRequiredService<TimeProvider>()));
    }

    public static string Describe(SharedRedis redis, AffinityOptions options) =>
        redis.IsConfigured ? $"Redis key '{redis.Key(RedisKeyName)}'"
        : options.KeyRingDirectory is { } directory ? $"directory '{directory}' (this replica only)"
        : "ASP.NET Core default location (this replica only)";

    private static IDatabase Database(SharedRedis redis) =>
        // Completed after the first connect attempt, whatever its result; operations fail fast while Redis is down.
        redis.GetConnectionAsync().GetAwaiter().GetResult()!.GetDatabase();
}

/// <summary>
/// Loads (or creates) the key ring in the background at start and retries until it succeeds. Once loaded, Data
/// Protection keeps using it through later Redis outages; only a process that never reached Redis cannot issue cookies.
/// </summary>
internal sealed class KeyRingWarmup(
    IDataProtectionProvider provider,
    SharedRedis redis,
    IOptions<AffinityOptions> options,
    TimeProvider time,
    ILogger<KeyRingWarmup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var protector = provider.CreateProtector("Gateway.Affinity.KeyRingWarmup");
        var where = KeyRing.Describe(redis, options.Value);
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                protector.Unprotect(protector.Protect([1]));
                Log.KeyRingReady(logger, options.Value.ApplicationName, where);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Whatever the store throws: a failed warm-up must never stop the host (a BackgroundService that throws does).
                Log.KeyRingUnavailable(logger, where, attempt, ex.GetType().Name);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 10)), time, stoppingToken);
            }
        }
    }
}
