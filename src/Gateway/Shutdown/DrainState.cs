namespace Gateway.Shutdown;

/// <summary>Phases of the shutdown sequence, in order; exported as a gauge.</summary>
internal enum DrainPhase
{
    Serving = 0,
    ReadinessDelay = 1,
    Draining = 2,
    RetiringPools = 3,
    Stopped = 4,
}

/// <summary>Process-wide drain state, read on every request (a volatile field, no lock).</summary>
internal sealed class DrainState
{
    private volatile int _phase;
    private int _inFlight;
    private long _served;

    public DrainPhase Phase => (DrainPhase)_phase;

    public bool IsDraining => _phase != (int)DrainPhase.Serving;

    /// <summary>Proxied requests between arrival and the end of their response.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public void Enter(DrainPhase phase) => _phase = (int)phase;

    /// <summary>Proxied requests started since the process began.</summary>
    public long Served => Interlocked.Read(ref _served);

    public void RequestStarted()
    {
        Interlocked.Increment(ref _inFlight);
        Interlocked.Increment(ref _served);
    }

    public void RequestEnded() => Interlocked.Decrement(ref _inFlight);
}
