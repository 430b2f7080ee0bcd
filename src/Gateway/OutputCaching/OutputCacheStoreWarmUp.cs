// Connects to Redis at start-up (SharedRedis connects on first use) and sends one command, so the first cached request
// finds the connection ready instead of going upstream as a miss, and its lookup does not pay for the first command's JIT.
using Gateway.SharedState;
using StackExchange.Redis;

namespace Gateway.OutputCaching;

internal sealed class OutputCacheStoreWarmUp(SharedRedis redis, OutputCachePolicies policies, TimeProvider time, ILogger<OutputCacheStoreWarmUp> logger)
    : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (redis.IsConfigured && policies.RegisteredNames.Count > 0)
        {
            _ = WarmUpAsync(_stopping.Token);
        }

        return Task.CompletedTask;
    }

    private async Task WarmUpAsync(CancellationToken stopping)
    {
        try
        {
            if (await redis.GetConnectionAsync().ConfigureAwait(false) is not { IsConnected: true } multiplexer)
            {
                return;
            }

            await multiplexer.GetDatabase().StringGetAsync(redis.Key("outputcache:warm-up"))
                .WaitAsync(TimeSpan.FromSeconds(5), time, stopping).ConfigureAwait(false);
            Log.StoreReady(logger);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
        {
            // Redis is away at start: the first lookup says so, and requests go upstream until it is back.
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    public void Dispose() => _stopping.Dispose();
}
