// One partition of one policy (e.g. one API key): decides through Redis when it is configured and available,
// otherwise through a per-replica System.Threading.RateLimiting limiter or the policy's FailureMode.
using System.Threading.RateLimiting;
using StackExchange.Redis;

namespace Gateway.RateLimiting;

internal sealed class PartitionLimiter : ReplenishingRateLimiter
{
    private readonly string _policy;
    private readonly PartitionKey _partition;
    private readonly RateLimitPolicies _policies;
    private readonly RedisRateLimitStore _store;
    private readonly RateLimitMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private PolicySettings? _localSettings;
    private RateLimiter? _local;
    private PolicySettings? _keySettings;
    private RedisKey[]? _keys;
    private long _lastUsed;

    // FixedWindow through Redis: permits taken from Redis in one round trip and not handed out yet. They belong to the
    // Redis window they were taken in, so they lapse when it ends (unused ones are lost: the limit is never exceeded).
    private readonly Lock _leaseLock = new();
    private long _leased;
    private long _leaseEnds;
    private long _lastRemaining;
    private PolicySettings? _leaseSettings;

    // A fixed window that Redis reported full stays full until it ends: rejections until then need no round trip
    // (a client hammering past its limit would otherwise cost Redis a call per request).
    private long _exhaustedUntil;

    /// <summary>Most permits taken per Redis round trip; the script also grants at most 1/16 of what is left.</summary>
    internal const long MaxBatch = 100;

    public PartitionLimiter(string policy, PartitionKey partition, RateLimitPolicies policies, RedisRateLimitStore store, RateLimitMetrics metrics, TimeProvider time)
    {
        _policy = policy;
        _partition = partition;
        _policies = policies;
        _store = store;
        _metrics = metrics;
        _time = time;
        _lastUsed = time.GetTimestamp();
    }

    public override bool IsAutoReplenishing => false;

    public override TimeSpan ReplenishmentPeriod => _localSettings?.Window ?? TimeSpan.FromSeconds(1);

    public override TimeSpan? IdleDuration
    {
        get
        {
            // A local limiter still holding permits (a window in progress, leases out) keeps the partition alive.
            if (Volatile.Read(ref _local) is { IdleDuration: null })
            {
                return null;
            }

            return _time.GetElapsedTime(Volatile.Read(ref _lastUsed));
        }
    }

    /// <summary>Called every 100 ms by ASP.NET Core's partitioned limiter; local limiters run without a timer each.</summary>
    public override bool TryReplenish() => Volatile.Read(ref _local) is ReplenishingRateLimiter local && local.TryReplenish();

    public override RateLimiterStatistics? GetStatistics() => Volatile.Read(ref _local)?.GetStatistics();

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        var settings = _policies.Get(_policy);
        Volatile.Write(ref _lastUsed, _time.GetTimestamp());
        if (!UsesRedis(settings))
        {
            return Local(settings).AttemptAcquire(permitCount);
        }

        // A permit already taken from Redis in a batch needs no I/O. Otherwise a shared check does: answer "not yet"
        // and ASP.NET Core's middleware calls AcquireAsync next.
        if (settings.Algorithm != RateLimitAlgorithm.FixedWindow || !_store.IsAvailable)
        {
            return Leases.Pending;
        }

        return LocalFixedWindowDecision(settings) ?? Leases.Pending;
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        var settings = _policies.Get(_policy);
        Volatile.Write(ref _lastUsed, _time.GetTimestamp());
        if (!UsesRedis(settings))
        {
            return Local(settings).AcquireAsync(permitCount, cancellationToken);
        }

        return _store.IsAvailable ? AcquireSharedAsync(settings, permitCount, cancellationToken) : new ValueTask<RateLimitLease>(Fallback(settings, permitCount));
    }

    private bool UsesRedis(PolicySettings settings) => settings.IsShareable && _store.IsConfigured;

    private async ValueTask<RateLimitLease> AcquireSharedAsync(PolicySettings settings, int permitCount, CancellationToken cancellationToken)
    {
        // Gap filled: a shared fixed window otherwise costs every request a Redis round trip. Far from the limit a
        // replica takes a batch and admits from it locally; near the limit the script hands out one permit at a time.
        var batched = settings.Algorithm == RateLimitAlgorithm.FixedWindow;
        if (batched && LocalFixedWindowDecision(settings) is { } local)
        {
            return local;
        }

        var sent = _time.GetTimestamp();
        var wanted = batched ? Math.Clamp(Volatile.Read(ref _lastRemaining) / 16, 1, MaxBatch) : 1;
        var decision = await _store.TryAcquireAsync(settings, Keys(settings), wanted, cancellationToken).ConfigureAwait(false);
        if (decision is not { } shared)
        {
            DropLease();
            return Fallback(settings, permitCount);
        }

        if (batched)
        {
            KeepLease(settings, shared, sent);
        }

        return shared.Granted > 0 ? Leases.Admitted : Leases.Rejected(shared.Wait);
    }

    /// <summary>Admitted from the batch, or rejected while the window Redis reported full lasts; null: ask Redis.</summary>
    private RateLimitLease? LocalFixedWindowDecision(PolicySettings settings) =>
        TryTakeLeased(settings) ? Leases.Admitted : ExhaustedWindow(settings);

    private bool TryTakeLeased(PolicySettings settings)
    {
        lock (_leaseLock)
        {
            if (_leased > 0 && ReferenceEquals(_leaseSettings, settings) && _time.GetTimestamp() < _leaseEnds)
            {
                _leased--;
                return true;
            }

            return false;
        }
    }

    /// <summary>A rejection while the window Redis reported full has not ended (as seen from here), else null.</summary>
    private RateLimitLease? ExhaustedWindow(PolicySettings settings)
    {
        var until = Volatile.Read(ref _exhaustedUntil);
        var now = _time.GetTimestamp();
        if (now >= until || !ReferenceEquals(Volatile.Read(ref _leaseSettings), settings))
        {
            return null;
        }

        return Leases.Rejected(_time.GetElapsedTime(now, until));
    }

    /// <summary>Keeps what was granted beyond this request's permit, until the window ends as Redis reported it.</summary>
    private void KeepLease(PolicySettings settings, SharedDecision decision, long sent)
    {
        lock (_leaseLock)
        {
            Volatile.Write(ref _lastRemaining, decision.Remaining);

            // Counted from when the request was sent, so the local end is never later than Redis's: a grant from the
            // next window always finds the previous window's leftovers lapsed, never adds to them.
            var ends = sent + (long)(decision.Wait.TotalSeconds * _time.TimestampFrequency);
            if (decision.Granted == 0)
            {
                if (!ReferenceEquals(_leaseSettings, settings))
                {
                    _leased = 0; // taken under settings a reload replaced
                }

                Volatile.Write(ref _leaseSettings, settings);
                Volatile.Write(ref _exhaustedUntil, ends);
                return;
            }

            // A grant means the window has room (e.g. a reload raised the limit): no earlier "full" stands.
            Volatile.Write(ref _exhaustedUntil, 0);
            if (decision.Granted == 1)
            {
                return;
            }

            var now = _time.GetTimestamp();
            if (!ReferenceEquals(_leaseSettings, settings) || now >= _leaseEnds)
            {
                _leased = 0;
            }

            _leased += decision.Granted - 1;
            _leaseEnds = ends;
            _leaseSettings = settings;
        }
    }

    private void DropLease()
    {
        lock (_leaseLock)
        {
            _leased = 0;
            Volatile.Write(ref _lastRemaining, 0);
            Volatile.Write(ref _exhaustedUntil, 0);
        }
    }

    private RateLimitLease Fallback(PolicySettings settings, int permitCount)
    {
        _metrics.Fallback(settings.Name, settings.ModeTag);
        return settings.FailureMode switch
        {
            RateLimitFailureMode.Open => Leases.Admitted,
            RateLimitFailureMode.Closed => Leases.Rejected(RedisRateLimitStore.BreakDuration),
            _ => Local(settings).AttemptAcquire(permitCount),
        };
    }

    private RedisKey[] Keys(PolicySettings settings)
    {
        var keys = Volatile.Read(ref _keys);
        if (keys is not null && ReferenceEquals(Volatile.Read(ref _keySettings), settings))
        {
            return keys;
        }

        keys = [settings.RedisKey(_store.KeyPrefix, _partition)];
        Volatile.Write(ref _keys, keys);
        Volatile.Write(ref _keySettings, settings);
        return keys;
    }

    /// <summary>The local limiter for the current settings; a reload that changed them starts a fresh one.</summary>
    private RateLimiter Local(PolicySettings settings)
    {
        var local = Volatile.Read(ref _local);
        if (local is not null && ReferenceEquals(Volatile.Read(ref _localSettings), settings))
        {
            return local;
        }

        lock (_lock)
        {
            if (_local is not null && ReferenceEquals(_localSettings, settings))
            {
                return _local;
            }

            var previous = _local;
            var next = settings.CreateLocalLimiter();
            Volatile.Write(ref _localSettings, settings);
            Volatile.Write(ref _local, next);
            previous?.Dispose();
            return next;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _local?.Dispose();
        }

        base.Dispose(disposing);
    }

    protected override ValueTask DisposeAsyncCore()
    {
        _local?.Dispose();
        return base.DisposeAsyncCore();
    }
}
