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

    /// <summary>The warm-up's own purpose: it must reach the shared ring, never the local fallback.</summary>
    public const string WarmupPurpose = "Gateway.Affinity.KeyRingWarmup";

    /// <summary>Readiness waits this long for the shared ring at start, then serves with the local fallback key.</summary>
    public static readonly TimeSpan ReadinessWait = TimeSpan.FromSeconds(10);

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
        services.AddSingleton<KeyRingState>();
        services.AddHostedService<KeyRingWarmup>();
        services.AddHealthChecks().AddCheck<KeyRingReadinessCheck>("affinity-key-ring", tags: [Gateway.Foundation.HealthTags.Readiness]);
        return services;
    }

    // Wraps the provider Data Protection registered, so YARP's affinity policies get the caching protector.
    private static void DecorateProvider(IServiceCollection services)
    {
        var registered = services.Last(static d => d.ServiceType == typeof(IDataProtectionProvider) && !d.IsKeyedService);
        services.Remove(registered);
        services.AddSingleton<IDataProtectionProvider>(sp => new AffinityCookieProtectionProvider(
            AffinityExtensions.Create<IDataProtectionProvider>(sp, registered),
            sp.GetRequiredService<KeyRingState>(),
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
    KeyRingState state,
    SharedRedis redis,
    IOptions<AffinityOptions> options,
    TimeProvider time,
    ILogger<KeyRingWarmup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var protector = provider.CreateProtector(KeyRing.WarmupPurpose);
        var where = KeyRing.Describe(redis, options.Value);
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                protector.Unprotect(protector.Protect([1]));
                state.MarkLoaded();
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

/// <summary>Whether the configured key ring has been loaded; until then cookies use the local fallback key.</summary>
internal sealed class KeyRingState(TimeProvider time)
{
    private readonly long _started = time.GetTimestamp();
    private volatile bool _loaded;

    public bool IsLoaded => _loaded;

    public void MarkLoaded() => _loaded = true;

    public TimeSpan SinceStart => time.GetElapsedTime(_started);
}

/// <summary>
/// Not ready until the key ring is loaded, for at most <see cref="KeyRing.ReadinessWait"/>: a normal start gets its
/// first cookies from the shared ring; with Redis down the replica serves anyway, on the local fallback key.
/// </summary>
internal sealed class KeyRingReadinessCheck(KeyRingState state) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
{
    public Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
        Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(state.IsLoaded || state.SinceStart >= KeyRing.ReadinessWait
            ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy(state.IsLoaded ? "key ring loaded" : "key ring unavailable: cookies use this replica's local key")
            : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("loading the affinity key ring"));
}
