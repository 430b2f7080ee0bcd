namespace Gateway.Pooling;

/// <summary>Per-cluster connection figures, kept across pool generations so totals survive reloads.</summary>
internal sealed class PoolStats
{
    private long _connectionsOpened;
    private long _connectionsOpen;
    private long _requests;

    public long ConnectionsOpened => Interlocked.Read(ref _connectionsOpened);

    public long ConnectionsOpen => Interlocked.Read(ref _connectionsOpen);

    public long Requests => Interlocked.Read(ref _requests);

    public void ConnectionOpened()
    {
        Interlocked.Increment(ref _connectionsOpened);
        Interlocked.Increment(ref _connectionsOpen);
    }

    public void ConnectionClosed() => Interlocked.Decrement(ref _connectionsOpen);

    public void RequestSent() => Interlocked.Increment(ref _requests);
}
