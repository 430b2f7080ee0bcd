namespace Gateway.Discovery;

/// <summary>
/// The bookkeeping both providers share: the last published set, success/failure counters and the last error.
/// Written by the provider's loop, read by anyone (a lock: reads are rare, from metrics and the admin API).
/// </summary>
internal sealed class DiscoveryState(string source, string target, TimeProvider time)
{
    private readonly Lock _gate = new();
    private IReadOnlyList<DiscoveredEndpoint>? _current;
    private long _updatesApplied;
    private long _updatesFailed;
    private int _consecutiveFailures;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;
    private DateTimeOffset? _lastSuccessAt;

    public IReadOnlyList<DiscoveredEndpoint>? Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    public int ConsecutiveFailures
    {
        get
        {
            lock (_gate)
            {
                return _consecutiveFailures;
            }
        }
    }

    /// <summary>Records <paramref name="endpoints"/> (ordered by id) and returns the update to publish, or null if nothing changed.</summary>
    public DiscoveryUpdate? Offer(IReadOnlyList<DiscoveredEndpoint> endpoints, string reason)
    {
        lock (_gate)
        {
            if (_current is not null && _current.SequenceEqual(endpoints))
            {
                return null;
            }

            _current = endpoints;
            _updatesApplied++;
            return new DiscoveryUpdate(endpoints, reason, time.GetUtcNow());
        }
    }

    /// <summary>A successful lookup; returns how many failures in a row it ends (0: none).</summary>
    public int Succeeded()
    {
        lock (_gate)
        {
            var ended = _consecutiveFailures;
            _consecutiveFailures = 0;
            _lastSuccessAt = time.GetUtcNow();
            return ended;
        }
    }

    /// <summary>A failed attempt that counts towards the back-off; returns the failures in a row.</summary>
    public int Failed(string error)
    {
        lock (_gate)
        {
            _updatesFailed++;
            _lastError = error;
            _lastErrorAt = time.GetUtcNow();
            return ++_consecutiveFailures;
        }
    }

    /// <summary>A set refused as invalid (not a transport failure: no back-off).</summary>
    public void Rejected(string error)
    {
        lock (_gate)
        {
            _updatesFailed++;
            _lastError = error;
            _lastErrorAt = time.GetUtcNow();
        }
    }

    public DiscoveryStatus Snapshot()
    {
        lock (_gate)
        {
            return new DiscoveryStatus(source, target, _current is not null, _current?.Count ?? 0, _updatesApplied, _updatesFailed,
                _consecutiveFailures, _lastError, _lastErrorAt, _lastSuccessAt);
        }
    }
}

/// <summary>
/// Capped exponential back-off: <c>initial × 2^(failures-1)</c>, at most <c>max</c>, less up to <c>jitter</c> of itself
/// (subtracted, so replicas spread out even at the cap and the cap still holds).
/// </summary>
internal static class Backoff
{
    public static TimeSpan Delay(int failures, TimeSpan initial, TimeSpan max, double jitter = 0)
    {
        if (failures <= 0 || initial <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var exponent = Math.Min(failures - 1, 30);
        var delay = Math.Min(initial.TotalMilliseconds * Math.Pow(2, exponent), max.TotalMilliseconds);
        delay -= delay * Math.Clamp(jitter, 0, 1) * Random.Shared.NextDouble();
        return TimeSpan.FromMilliseconds(delay);
    }
}
