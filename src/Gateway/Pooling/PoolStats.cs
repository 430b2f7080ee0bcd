using System.Collections.Concurrent;

namespace Gateway.Pooling;

/// <summary>
/// Per-cluster connection figures, kept across pool generations so totals survive reloads, and the cluster's open
/// connections, so those to a destination that went away can be closed instead of waiting for their idle timeout.
/// </summary>
internal sealed class PoolStats
{
    private readonly ConcurrentDictionary<CountedConnectionStream, byte> _open = new();
    private long _connectionsOpened;
    private long _connectionsOpen;
    private long _requests;

    public long ConnectionsOpened => Interlocked.Read(ref _connectionsOpened);

    public long ConnectionsOpen => Interlocked.Read(ref _connectionsOpen);

    public long Requests => Interlocked.Read(ref _requests);

    public void ConnectionOpened(CountedConnectionStream connection)
    {
        Interlocked.Increment(ref _connectionsOpened);
        Interlocked.Increment(ref _connectionsOpen);
        _open.TryAdd(connection, 0);
    }

    public void ConnectionClosed(CountedConnectionStream connection)
    {
        Interlocked.Decrement(ref _connectionsOpen);
        _open.TryRemove(connection, out _);
    }

    public void RequestSent() => Interlocked.Increment(ref _requests);

    /// <summary>Closes every open connection to <paramref name="host"/>:<paramref name="port"/>; returns how many.</summary>
    public int CloseConnectionsTo(string host, int port)
    {
        var closed = 0;
        foreach (var connection in _open.Keys)
        {
            if (connection.Port == port && string.Equals(connection.Host, host, StringComparison.OrdinalIgnoreCase))
            {
                connection.Dispose();
                closed++;
            }
        }

        return closed;
    }
}
