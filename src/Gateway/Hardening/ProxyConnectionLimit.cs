// Caps open connections on the proxy listener only.
// Gap: Kestrel's MaxConcurrentConnections is server-wide, so a connection flood on the proxy port would also lock
// the kubelet's probes out of the management port; this counts the proxy endpoint's connections alone.
using Microsoft.AspNetCore.Connections;

namespace Gateway.Hardening;

internal sealed class ProxyConnectionLimit(long max, ILogger logger)
{
    private long _open;

    public long Open => Interlocked.Read(ref _open);

    public ConnectionDelegate Middleware(ConnectionDelegate next) => connection => OnConnection(connection, next);

    private Task OnConnection(ConnectionContext connection, ConnectionDelegate next)
    {
        if (Interlocked.Increment(ref _open) > max)
        {
            Interlocked.Decrement(ref _open);
            Log.ConnectionRejected(logger, max);

            // Returning without running the HTTP layer closes the socket, as Kestrel's own limit does.
            return Task.CompletedTask;
        }

        return RunAsync(connection, next);
    }

    private async Task RunAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        try
        {
            await next(connection);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }
}
