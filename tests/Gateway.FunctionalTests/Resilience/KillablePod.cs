using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Gateway.FunctionalTests.Resilience;

/// <summary>
/// A destination that can die like a SIGKILLed pod: a TCP relay on its own port in front of a real upstream.
/// <see cref="Kill"/> closes the listener (new connects are refused) and resets every open connection at once,
/// which is what the kernel does to a killed process's sockets. Kestrel's own stop is gentler and slower: it
/// holds requests on open connections while it shuts down, which is not what a crash looks like.
/// </summary>
public sealed class KillablePod : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly int _targetPort;
    private readonly Task _acceptLoop;
    private volatile bool _killed;

    public KillablePod(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start(backlog: 512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>The connections (from the gateway) it was relaying when it was killed.</summary>
    public int ConnectionsAtKill { get; private set; }

    public void Kill()
    {
        // Each relayed connection holds two sockets: the gateway's and the one to the real upstream.
        ConnectionsAtKill = _sockets.Count / 2;
        _killed = true;
        _listener.Stop();
        foreach (var socket in _sockets.Keys)
        {
            Reset(socket);
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_killed)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync();
            }
            catch (Exception)
            {
                return;
            }

            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        _sockets[client] = 0;
        _sockets[upstream] = 0;
        try
        {
            if (_killed)
            {
                return;
            }

            await upstream.ConnectAsync(IPAddress.Loopback, _targetPort);
            await using var clientStream = new NetworkStream(client, ownsSocket: false);
            await using var upstreamStream = new NetworkStream(upstream, ownsSocket: false);
            var up = clientStream.CopyToAsync(upstreamStream);
            var down = upstreamStream.CopyToAsync(clientStream);
            await Task.WhenAny(up, down);
        }
        catch (Exception)
        {
        }
        finally
        {
            _sockets.TryRemove(client, out _);
            _sockets.TryRemove(upstream, out _);
            if (_killed)
            {
                Reset(client);
            }
            else
            {
                client.Dispose();
            }

            upstream.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_killed)
        {
            Kill();
        }

        try
        {
            await _acceptLoop;
        }
        catch (Exception)
        {
        }
    }
}
