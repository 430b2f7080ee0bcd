using System.Net.Sockets;

namespace Gateway.Pooling;

/// <summary>A connection's stream that reports its close once, so "open connections" is exact.</summary>
internal sealed class CountedConnectionStream(Socket socket, PoolStats stats) : NetworkStream(socket, ownsSocket: true)
{
    private int _closed;

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            stats.ConnectionClosed();
        }

        base.Dispose(disposing);
    }
}
