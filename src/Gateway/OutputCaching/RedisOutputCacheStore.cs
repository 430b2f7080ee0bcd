// Output-cache entries in Redis through the gateway's one connection (SharedState), so every replica serves what any
// replica stored. Gap: ASP.NET Core's store is per process; Microsoft.AspNetCore.OutputCaching.StackExchangeRedis opens a
// connection of its own and lets Redis errors and its multi-second timeouts reach the request (a 500). Here a lookup
// waits at most Gateway:Redis:OperationTimeout, and Redis down or slow is a miss, never an error.
using Gateway.SharedState;
using Microsoft.AspNetCore.OutputCaching;
using StackExchange.Redis;

namespace Gateway.OutputCaching;

internal sealed class RedisOutputCacheStore(SharedRedis redis, OutputCacheMetrics metrics, TimeProvider time, ILogger<RedisOutputCacheStore> logger)
    : IOutputCacheStore
{
    private readonly string _prefix = redis.Key("outputcache:");
    private int _failing;

    public async ValueTask<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        if (Connected() is not { } multiplexer)
        {
            Failed(OutputCacheMetrics.Get, "not connected");
            return null;
        }

        try
        {
            var value = await multiplexer.GetDatabase().StringGetAsync(_prefix + key)
                .WaitAsync(redis.Options.OperationTimeout, time, cancellationToken).ConfigureAwait(false);
            Succeeded();
            return (byte[]?)value;
        }
        catch (TimeoutException)
        {
            Failed(OutputCacheMetrics.Get, "timeout");
            return null;
        }
        catch (RedisException ex)
        {
            // Type only: exception messages may carry connection details.
            Failed(OutputCacheMetrics.Get, ex.GetType().Name);
            return null;
        }
    }

    public async ValueTask SetAsync(string key, byte[] value, string[]? tags, TimeSpan validFor, CancellationToken cancellationToken)
    {
        if (Connected() is not { } multiplexer)
        {
            Failed(OutputCacheMetrics.Set, "not connected");
            return;
        }

        try
        {
            await multiplexer.GetDatabase().StringSetAsync(_prefix + key, value, validFor)
                .WaitAsync(redis.Options.OperationTimeout, time, cancellationToken).ConfigureAwait(false);
            Succeeded();
        }
        catch (TimeoutException)
        {
            Failed(OutputCacheMetrics.Set, "timeout");
        }
        catch (RedisException ex)
        {
            Failed(OutputCacheMetrics.Set, ex.GetType().Name);
        }
    }

    /// <summary>Tags are not kept in Redis: no policy of ours sets one, and nothing evicts by tag.</summary>
    public ValueTask EvictByTagAsync(string tag, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    // A multiplexer that is down answers at once instead of queueing the command until it times out.
    private ConnectionMultiplexer? Connected()
    {
        var connection = redis.GetConnectionAsync();
        return connection.IsCompletedSuccessfully && connection.Result is { IsConnected: true } multiplexer ? multiplexer : null;
    }

    private void Failed(string operation, string reason)
    {
        metrics.StoreError(operation);
        if (Interlocked.Exchange(ref _failing, 1) == 0)
        {
            Log.StoreUnavailable(logger, reason);
        }
    }

    private void Succeeded()
    {
        if (Volatile.Read(ref _failing) == 1 && Interlocked.Exchange(ref _failing, 0) == 1)
        {
            Log.StoreResumed(logger);
        }
    }
}
