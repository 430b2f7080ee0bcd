// Shares drain marks between replicas through Redis: a hash holds the marks (so a replica that starts later, or
// reconnects after an outage, loads them) and a pub/sub message tells every replica to re-read it at once.
// Without Redis the marks are local to this process.
using System.Threading.Channels;
using Gateway.SharedState;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.DestinationDraining;

internal enum DrainWriteResult
{
    Applied,
    SharedStateUnavailable,
}

internal sealed class DrainSync(
    DestinationDrain drain,
    SharedRedis redis,
    IOptions<DrainOptions> options,
    TimeProvider time,
    DrainMetrics metrics,
    ILogger<DrainSync> logger) : BackgroundService
{
    private readonly Channel<bool> _reload = System.Threading.Channels.Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private RedisKey HashKey => redis.Key("affinity:draining");

    private RedisChannel NotifyChannel => RedisChannel.Literal(redis.Key("affinity:draining"));

    /// <summary>Marks or unmarks a destination: in Redis first (every replica), then here.</summary>
    public async Task<DrainWriteResult> SetAsync(DrainMark mark, bool draining)
    {
        if (!redis.IsConfigured)
        {
            drain.Set(mark, draining, "admin API");
            return DrainWriteResult.Applied;
        }

        try
        {
            // A local-only mark would be wiped by the next resync, so without Redis the operation fails as a whole.
            if (await redis.GetConnectionAsync() is not { IsConnected: true } connection)
            {
                return DrainWriteResult.SharedStateUnavailable;
            }

            var database = connection.GetDatabase();
            var field = Field(mark);
            if (draining)
            {
                await database.HashSetAsync(HashKey, field, time.GetUtcNow().ToString("O"));
            }
            else
            {
                await database.HashDeleteAsync(HashKey, field);
            }

            await database.PublishAsync(NotifyChannel, field);
            drain.Set(mark, draining, "admin API");
            return DrainWriteResult.Applied;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.DrainWriteFailed(logger, mark.ClusterId, mark.DestinationId, ex.GetType().Name);
            return DrainWriteResult.SharedStateUnavailable;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _ = metrics; // created with this service so its instruments exist from the first scrape
        if (!redis.IsConfigured || await redis.GetConnectionAsync() is not { } connection)
        {
            return;
        }

        connection.ConnectionRestored += (_, _) => _reload.Writer.TryWrite(true);
        await SubscribeAsync(connection, stoppingToken);

        var interval = options.Value.DrainResyncInterval;
        _reload.Writer.TryWrite(true);
        while (!stoppingToken.IsCancellationRequested)
        {
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                wait.CancelAfter(interval);
                try
                {
                    await _reload.Reader.ReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // Periodic resync: catches a notification lost while this replica was disconnected.
                }
            }

            if (!stoppingToken.IsCancellationRequested)
            {
                await LoadAsync(connection);
            }
        }
    }

    private async Task SubscribeAsync(ConnectionMultiplexer connection, CancellationToken stoppingToken)
    {
        // StackExchange.Redis restores a subscription after a reconnect by itself; the first one needs Redis up.
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await connection.GetSubscriber().SubscribeAsync(NotifyChannel, (_, _) => _reload.Writer.TryWrite(true));
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                Log.DrainSubscribeFailed(logger, ex.GetType().Name);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
        }
    }

    private async Task LoadAsync(ConnectionMultiplexer connection)
    {
        try
        {
            var fields = await connection.GetDatabase().HashKeysAsync(HashKey);
            var marks = new List<DrainMark>(fields.Length);
            foreach (var field in fields)
            {
                if (TryParse(field, out var mark))
                {
                    marks.Add(mark);
                }
            }

            drain.ReplaceAll(marks, "shared state");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Keep the marks we have: an outage must not put drained destinations back into rotation.
            Log.DrainLoadFailed(logger, ex.GetType().Name);
        }
    }

    // "cluster/destination", each part URL-escaped so any id round-trips and the hash stays readable in redis-cli.
    private static string Field(DrainMark mark) => Uri.EscapeDataString(mark.ClusterId) + "/" + Uri.EscapeDataString(mark.DestinationId);

    private static bool TryParse(string? field, out DrainMark mark)
    {
        var slash = field?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (slash <= 0 || slash == field!.Length - 1)
        {
            mark = default;
            return false;
        }

        mark = new DrainMark(Uri.UnescapeDataString(field[..slash]), Uri.UnescapeDataString(field[(slash + 1)..]));
        return true;
    }
}
