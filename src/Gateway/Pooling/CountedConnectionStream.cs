using System.Net.Sockets;

namespace Gateway.Pooling;

/// <summary>A connection's stream that reports its open and close once, so "open connections" is exact.</summary>
internal sealed class CountedConnectionStream : NetworkStream
{
    private readonly PoolStats _stats;
    private int _closed;

    public CountedConnectionStream(Socket socket, PoolStats stats, string host, int port)
        : base(socket, ownsSocket: true)
    {
        _stats = stats;
        Host = host;
        Port = port;
        stats.ConnectionOpened(this);
    }

    /// <summary>The host and port the pool connected to (as in the destination's address).</summary>
    public string Host { get; }

    public int Port { get; }

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            _stats.ConnectionClosed(this);
        }

        base.Dispose(disposing);
    }
}
