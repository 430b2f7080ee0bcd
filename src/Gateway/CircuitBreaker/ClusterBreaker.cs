// Gap in YARP: nothing bounds the requests in flight to a cluster, so when an upstream slows down requests queue
// without bound (in the gateway, in the pool, in the upstream). One of these per cluster (per replica): at most
// MaxConcurrentRequests admitted at once, at most MaxPendingRequests waiting for a place (oldest first), the rest
// refused at once. One short lock per request; a waiting request allocates its waiter, an admitted one nothing.
namespace Gateway.CircuitBreaker;

internal enum Admission
{
    Admitted,
    Queued,
    Rejected,
}

internal sealed class ClusterBreaker(string clusterId)
{
    private readonly Lock _lock = new();
    private readonly Queue<Waiter> _waiters = new();
    private int _maxConcurrent;
    private int _maxPending;
    private int _active;
    private int _pending;
    private long _rejected;
    private long _nextReportAt = long.MinValue;

    public string ClusterId { get; } = clusterId;

    public int MaxConcurrentRequests => Volatile.Read(ref _maxConcurrent);

    public int MaxPendingRequests => Volatile.Read(ref _maxPending);

    /// <summary>Requests admitted and not finished.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Requests waiting for a place.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>New limits (a reload); requests in flight keep their places, waiters get any new ones at once.</summary>
    public void SetLimits(int maxConcurrent, int maxPending)
    {
        List<Waiter>? admitted = null;
        lock (_lock)
        {
            _maxConcurrent = maxConcurrent;
            _maxPending = maxPending;
            while (_active < _maxConcurrent && TryDequeue(out var waiter))
            {
                _active++;
                (admitted ??= []).Add(waiter);
            }
        }

        if (admitted is not null)
        {
            foreach (var waiter in admitted)
            {
                waiter.TrySetResult(true);
            }
        }
    }

    /// <summary>
    /// Admitted: the caller holds a place and must <see cref="Exit"/>. Queued: <paramref name="waiter"/> completes with
    /// true once it holds one (false if <see cref="Cancel"/>led first). Rejected: over both limits.
    /// </summary>
    public Admission TryEnter(out Waiter? waiter)
    {
        lock (_lock)
        {
            if (_active < _maxConcurrent)
            {
                _active++;
                waiter = null;
                return Admission.Admitted;
            }

            if (_pending < _maxPending)
            {
                _pending++;
                waiter = new Waiter();
                _waiters.Enqueue(waiter);
                return Admission.Queued;
            }
        }

        waiter = null;
        Interlocked.Increment(ref _rejected);
        return Admission.Rejected;
    }

    /// <summary>A request that held a place has finished: the oldest waiter gets the place, or it is freed.</summary>
    public void Exit()
    {
        Waiter? next = null;
        lock (_lock)
        {
            // Over a lowered limit, places are freed until the count is back under it.
            if (_active > _maxConcurrent || !TryDequeue(out next))
            {
                _active--;
                next = null;
            }
        }

        next?.TrySetResult(true);
    }

    /// <summary>A waiter gives up (its client left, its route timed out). False when it had been given a place already.</summary>
    public bool Cancel(Waiter waiter)
    {
        lock (_lock)
        {
            if (waiter.Done)
            {
                return false;
            }

            // Left in the queue, skipped when it comes up.
            waiter.Done = true;
            _pending--;
        }

        waiter.TrySetResult(false);
        return true;
    }

    /// <summary>
    /// For a log line at most every <paramref name="interval"/> while requests are refused: the refusals since the last
    /// one, or 0 when it is not time yet.
    /// </summary>
    public long TakeRejectionsToReport(long now, long interval)
    {
        var next = Interlocked.Read(ref _nextReportAt);
        if (now < next || Interlocked.CompareExchange(ref _nextReportAt, now + interval, next) != next)
        {
            return 0;
        }

        return Interlocked.Exchange(ref _rejected, 0);
    }

    // Under the lock.
    private bool TryDequeue(out Waiter waiter)
    {
        while (_waiters.TryDequeue(out waiter!))
        {
            if (!waiter.Done)
            {
                waiter.Done = true;
                _pending--;
                return true;
            }
        }

        return false;
    }

    /// <summary>A request waiting for a place; completes with true when it holds one.</summary>
    internal sealed class Waiter() : TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        // Under the breaker's lock: dequeued with a place, or cancelled.
        public bool Done;
    }
}
