// Shared counters in Redis, behind a circuit: after a failure or a timeout (Gateway:Redis:OperationTimeout) the circuit
// opens, checks skip Redis entirely (no per-request timeout while Redis is away), and a background probe closes it
// again once Redis answers, so shared limiting resumes without a restart.
// Gap: ASP.NET Core's limiters are per process; RedisRateLimiting (checked: works with StackExchange.Redis 3.4.35) has no
// per-call timeout, reads the local clock, never lets partitions go idle, keeps one sorted-set entry per request for
// sliding windows, and releases Redis concurrency leases synchronously - so we keep our own small scripts.
using Gateway.SharedState;
using StackExchange.Redis;

namespace Gateway.RateLimiting;

/// <summary>
/// Permits granted (0: rejected); <paramref name="Wait"/> is the retry-after when rejected and, for FixedWindow, the
/// window's remaining time when granted; <paramref name="Remaining"/> what FixedWindow has left after this grant.
/// </summary>
internal readonly record struct SharedDecision(long Granted, TimeSpan Wait, long Remaining);

internal sealed class RedisRateLimitStore : IHostedService, IDisposable
{
    /// <summary>How long the circuit stays open before the first probe; keeps a flapping Redis from flapping limits.</summary>
    internal static readonly TimeSpan BreakDuration = TimeSpan.FromSeconds(1);

    internal static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(250);

    private const int Closed = 0;
    private const int Open = 1;

    private readonly SharedRedis _redis;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisRateLimitStore> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;
    private int _state;
    private long _openedAt;

    public RedisRateLimitStore(SharedRedis redis, TimeProvider time, ILogger<RedisRateLimitStore> logger)
    {
        _redis = redis;
        _time = time;
        _logger = logger;
    }

    public bool IsConfigured => _redis.IsConfigured;

    public string KeyPrefix => _redis.Options.KeyPrefix;

    /// <summary>False while the circuit is open: callers use their FailureMode without touching Redis.</summary>
    public bool IsAvailable => Volatile.Read(ref _state) == Closed;

    /// <param name="wanted">Permits to take at once (FixedWindow only; the script may grant fewer).</param>
    public async ValueTask<SharedDecision?> TryAcquireAsync(PolicySettings settings, RedisKey[] keys, long wanted, CancellationToken cancellationToken)
    {
        var connection = _redis.GetConnectionAsync();
        if (!connection.IsCompletedSuccessfully || connection.Result is not { IsConnected: true } multiplexer)
        {
            Trip("not connected");
            return null;
        }

        try
        {
            // ScriptEvaluateAsync(string) sends EVALSHA once the script is known to the server (EVAL again after a NOSCRIPT,
            // e.g. a restarted Redis). The script is atomic: the read, the limit check and the write of one partition's
            // counter run as one step on the server, so two replicas can never both take the last permit.
            var result = await multiplexer.GetDatabase()
                .ScriptEvaluateAsync(RateLimitScripts.For(settings.Algorithm), keys, Arguments(settings, wanted))
                .WaitAsync(_redis.Options.OperationTimeout, _time, cancellationToken)
                .ConfigureAwait(false);
            var values = (RedisResult[])result!;
            return new SharedDecision((long)values[0], TimeSpan.FromMilliseconds((long)values[1]), values.Length > 2 ? (long)values[2] : 0);
        }
        catch (TimeoutException)
        {
            Trip($"no answer within {_redis.Options.OperationTimeout.TotalMilliseconds:F0} ms");
            return null;
        }
        catch (RedisException ex)
        {
            // Type only: exception messages may carry connection details.
            Trip(ex.GetType().Name);
            return null;
        }
    }

    private static RedisValue[] Arguments(PolicySettings settings, long wanted) =>
        settings.Algorithm == RateLimitAlgorithm.FixedWindow && wanted > 1
            ? [settings.ScriptArguments[0], settings.ScriptArguments[1], wanted]
            : settings.ScriptArguments;

    private void Trip(string reason)
    {
        if (Interlocked.CompareExchange(ref _state, Open, Closed) != Closed)
        {
            return;
        }

        _openedAt = _time.GetTimestamp();
        Log.RedisUnavailable(_logger, reason);
        _ = ProbeUntilBackAsync();
    }

    private async Task ProbeUntilBackAsync()
    {
        var stopping = _stopping.Token;
        try
        {
            await Task.Delay(BreakDuration, _time, stopping).ConfigureAwait(false);
            while (!stopping.IsCancellationRequested)
            {
                if (await PingAsync(stopping).ConfigureAwait(false))
                {
                    Volatile.Write(ref _state, Closed);
                    Log.RedisResumed(_logger, _time.GetElapsedTime(_openedAt).TotalSeconds);
                    return;
                }

                await Task.Delay(ProbeInterval, _time, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task<bool> PingAsync(CancellationToken stopping)
    {
        try
        {
            var multiplexer = await _redis.GetConnectionAsync().WaitAsync(_redis.Options.OperationTimeout, _time, stopping).ConfigureAwait(false);
            if (multiplexer is not { IsConnected: true })
            {
                return false;
            }

            await multiplexer.GetDatabase().PingAsync().WaitAsync(_redis.Options.OperationTimeout, _time, stopping).ConfigureAwait(false);
            // A restarted Redis has lost its script cache; load them before the first request needs them.
            await LoadScriptsAsync(multiplexer, stopping).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>SCRIPT LOAD on every server, so request-path checks are a single EVALSHA.</summary>
    private async Task LoadScriptsAsync(ConnectionMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        var timeout = TimeSpan.FromSeconds(5);
        foreach (var server in multiplexer.GetServers())
        {
            if (!server.IsConnected || server.IsReplica)
            {
                continue;
            }

            await server.ScriptLoadAsync(RateLimitScripts.FixedWindow).WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            await server.ScriptLoadAsync(RateLimitScripts.SlidingWindow).WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            await server.ScriptLoadAsync(RateLimitScripts.TokenBucket).WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Connects and loads the scripts at start-up, then runs one check on a scratch key: the first check in a process
    /// pays for JIT and script compilation and would otherwise exceed OperationTimeout and open the circuit for nothing.
    /// </summary>
    private async Task WarmUpAsync(CancellationToken stopping)
    {
        try
        {
            var multiplexer = await _redis.GetConnectionAsync().ConfigureAwait(false);
            if (multiplexer is not { IsConnected: true })
            {
                return;
            }

            await LoadScriptsAsync(multiplexer, stopping).ConfigureAwait(false);
            RedisKey[] scratch = [_redis.Key("ratelimit:warm-up")];
            RedisValue[] arguments = [1, 1000];
            await multiplexer.GetDatabase().ScriptEvaluateAsync(RateLimitScripts.FixedWindow, scratch, arguments)
                .WaitAsync(TimeSpan.FromSeconds(5), _time, stopping).ConfigureAwait(false);
            Log.SharedLimitsReady(_logger);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
        {
            // Redis is away at start: the first check opens the circuit and says so.
        }
    }

    /// <summary>Starts connecting at start-up so the first requests find Redis ready rather than opening the circuit.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (IsConfigured)
        {
            _ = WarmUpAsync(_stopping.Token);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    // The container disposes this twice (as itself and as the hosted service that resolves it); only the first counts.
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stopping.Cancel();
            _stopping.Dispose();
        }
    }
}
