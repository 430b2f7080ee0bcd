using System.Net;
using System.Net.Sockets;

namespace Gateway.FunctionalTests.Resilience;

/// <summary>
/// A failing upstream: accepts every TCP connection and resets it (RST), counting the accepts. At once by default
/// (the gateway may see the reset while connecting); with <c>afterRequest</c>, once the request bytes arrived.
/// </summary>
public sealed class ResettingListener : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _accepted;

    private readonly bool _afterRequest;

    public ResettingListener(bool afterRequest = false)
    {
        _afterRequest = afterRequest;
        _listener.Start(backlog: 512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _loop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public int Accepted => Volatile.Read(ref _accepted);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            if (_afterRequest)
            {
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await socket.ReceiveAsync(new byte[4096], SocketFlags.None);
                    }
                    catch (SocketException)
                    {
                    }

                    Reset(socket);
                });
            }
            else
            {
                Reset(socket);
            }
        }
    }

    private static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (Exception)
        {
        }

        _stop.Dispose();
    }
}
