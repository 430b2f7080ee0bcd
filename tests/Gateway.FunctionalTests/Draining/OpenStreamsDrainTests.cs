using System.Diagnostics;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.FunctionalTests.Draining;

/// <summary>WebSockets and event streams at a drain or a pool retirement: ended as their protocol expects, never cut.</summary>
public sealed class OpenStreamsDrainTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Sigterm_WithOnlyAWebSocketAndAnEventStreamOpen_Sends1001ToBothEnds_EndsTheStream_AndExitsLongBeforeTheDeadline()
    {
        var upstream = await StreamingUpstream.StartAsync();
        await using var _ = upstream.Server;
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.SingleCluster(upstream.Server).ToJson(), Shutdown("00:00:00.500", "00:00:20"));

        using var socket = await ConnectAsync(gateway);
        using var events = gateway.CreateProxyClient(TimeSpan.FromSeconds(60));
        var eventStream = await OpenEventStreamAsync(events);

        var watch = Stopwatch.StartNew();
        gateway.Signal(GatewayProcess.SIGTERM);

        var clientClose = await ReceiveCloseAsync(socket);
        var clientSaw = watch.Elapsed;
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, clientClose); // 1001 Going Away
        Assert.Equal(1001, await upstream.CloseReceived.Task.WaitAsync(Wait));
        Assert.Equal("", await eventStream.Remainder.WaitAsync(Wait)); // ended cleanly: a read to the end, no exception

        Assert.Equal(0, await gateway.WaitForExitAsync(Wait));
        var exited = watch.Elapsed;
        output.WriteLine($"client saw 1001 after {clientSaw.TotalMilliseconds:F0} ms, exit after {exited.TotalMilliseconds:F0} ms\n{gateway.Output}");
        // Nothing but the two streams was in flight, so the drain ends them at once instead of waiting out its 20 s.
        Assert.True(exited < TimeSpan.FromSeconds(0.5 + 5), $"exit took {exited.TotalSeconds:F1} s");
        Assert.Contains("Drain phase 3 (only open streams left): 1 WebSockets closed with 1001 Going Away at both ends, 1 event streams ended, 0 gRPC calls ended with UNAVAILABLE; 0 streams did not finish", gateway.Output);
        Assert.DoesNotContain("ShutdownTimeout", gateway.Output);
    }

    [Fact]
    public async Task Sigterm_WithASlowRequestBesideAWebSocket_ClosesTheWebSocketAtTheDeadline_AndExitsWithinTheDeadlinePlusOneSecond()
    {
        var upstream = await StreamingUpstream.StartAsync();
        await using var _ = upstream.Server;
        var env = Shutdown("00:00:00.500", "00:00:02");
        env["Gateway__Shutdown__PoolCloseTimeout"] = "00:00:00.500";
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.SingleCluster(upstream.Server).ToJson(), env);

        using var socket = await ConnectAsync(gateway);
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(60));
        var slow = client.GetAsync("/slow");
        await upstream.SlowStarted.Task.WaitAsync(Wait);

        var watch = Stopwatch.StartNew();
        gateway.Signal(GatewayProcess.SIGTERM);
        var clientClose = await ReceiveCloseAsync(socket);
        var clientSaw = watch.Elapsed;
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, clientClose);
        Assert.Equal(1001, await upstream.CloseReceived.Task.WaitAsync(Wait));
        Assert.Equal(0, await gateway.WaitForExitAsync(Wait));
        var exited = watch.Elapsed;
        output.WriteLine($"client saw 1001 after {clientSaw.TotalMilliseconds:F0} ms, exit after {exited.TotalMilliseconds:F0} ms\n{gateway.Output}");

        // The slow request keeps the drain waiting its whole timeout; the WebSocket is closed at that deadline, not cut.
        Assert.True(clientSaw >= TimeSpan.FromSeconds(0.5 + 2) - TimeSpan.FromMilliseconds(100), $"closed after {clientSaw.TotalSeconds:F1} s, before the deadline");
        // Deadline (2.5 s) + 1 s, plus 1.5 s for process exit on a loaded 2-core box.
        Assert.True(exited < TimeSpan.FromSeconds(0.5 + 2 + 1 + 1.5), $"exit took {exited.TotalSeconds:F1} s");
        Assert.Contains("Drain phase 3 (deadline): 1 WebSockets closed with 1001 Going Away at both ends", gateway.Output);
        Assert.Contains("1 requests were cut at the deadline", gateway.Output);
        await Assert.ThrowsAnyAsync<Exception>(async () => (await slow).EnsureSuccessStatusCode());
    }

    [Fact]
    public async Task APoolRetiredByAReload_ClosesItsWebSocketWith1001AtBothEnds_AfterTheGracePeriod_WithoutAShutdown()
    {
        var upstream = await StreamingUpstream.StartAsync();
        await using var _ = upstream.Server;
        var config = GatewayConfig.SingleCluster(upstream.Server).Set("Gateway:ConnectionPool:RetirementGracePeriod", "00:00:01");
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var socket = await ConnectAsync(gateway);

        // A pool setting change builds a new pool and retires the one the WebSocket came from.
        await gateway.WriteConfigAsync(config.Set("ReverseProxy:Clusters:backend:ConnectionPool:MaxConnectionsPerServer", 7).ToJson());
        var clientClose = await ReceiveCloseAsync(socket);

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, clientClose);
        Assert.Equal(1001, await upstream.CloseReceived.Task.WaitAsync(Wait));
        await gateway.WaitForLogAsync("retirement: 1 WebSockets closed with 1001 Going Away at both ends, 0 event streams ended, 0 gRPC calls ended with UNAVAILABLE; 0 streams did not finish", Wait);

        // The gateway still serves, over the new pool, and a new WebSocket works.
        using var client = gateway.CreateProxyClient();
        Assert.Equal("ok", await client.GetStringAsync("/plain"));
        using var again = await ConnectAsync(gateway);
        Assert.Equal(WebSocketState.Open, again.State);
    }

    private static Dictionary<string, string> Shutdown(string readinessDelay, string drainTimeout) => new()
    {
        ["Gateway__Shutdown__ReadinessDelay"] = readinessDelay,
        ["Gateway__Shutdown__DrainTimeout"] = drainTimeout,
    };

    /// <summary>Connects through the gateway and checks the tunnel with one echoed message.</summary>
    private static async Task<ClientWebSocket> ConnectAsync(GatewayProcess gateway)
    {
        var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(Wait);
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.ProxyPort}/ws"), timeout.Token);
        await socket.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        var buffer = new byte[64];
        var echo = await socket.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal("echo:ping", Encoding.UTF8.GetString(buffer, 0, echo.Count));
        return socket;
    }

    private static async Task<WebSocketCloseStatus?> ReceiveCloseAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Wait);
        var buffer = new byte[256];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token); // throws on a cut connection (1006)
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return result.CloseStatus;
            }
        }
    }

    private static async Task<(string First, Task<string> Remainder)> OpenEventStreamAsync(HttpClient client)
    {
        var response = await client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = await reader.ReadLineAsync().WaitAsync(Wait);
        Assert.Equal("data: hello", first);
        Assert.Equal("", await reader.ReadLineAsync());
        return (first!, reader.ReadToEndAsync());
    }

    /// <summary>An upstream with a WebSocket echo (/ws), an endless event stream (/events), a stalled request (/slow).</summary>
    private sealed class StreamingUpstream
    {
        public required UpstreamServer Server { get; init; }

        public TaskCompletionSource<int> CloseReceived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource SlowStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static async Task<StreamingUpstream> StartAsync()
        {
            StreamingUpstream? upstream = null;
            var server = await UpstreamServer.StartAsync("streams", handler: context => upstream!.HandleAsync(context));
            upstream = new StreamingUpstream { Server = server };
            return upstream;
        }

        private async Task HandleAsync(HttpContext context)
        {
            switch (context.Request.Path.Value)
            {
                case "/ws":
                    await EchoAsync(context);
                    break;
                case "/events":
                    context.Response.ContentType = "text/event-stream";
                    await context.Response.WriteAsync("data: hello\n\n");
                    await context.Response.Body.FlushAsync();
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                    break;
                case "/slow":
                    SlowStarted.TrySetResult();
                    await Task.Delay(TimeSpan.FromSeconds(60), context.RequestAborted);
                    break;
                default:
                    await context.Response.WriteAsync("ok");
                    break;
            }
        }

        private async Task EchoAsync(HttpContext context)
        {
            var key = context.Request.Headers["Sec-WebSocket-Key"].ToString();
            context.Response.Headers.Upgrade = "websocket";
            context.Response.Headers["Sec-WebSocket-Accept"] =
                Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
            var stream = await context.Features.Get<IHttpUpgradeFeature>()!.UpgradeAsync();
            using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true });
            var buffer = new byte[256];
            try
            {
                while (true)
                {
                    var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        CloseReceived.TrySetResult((int?)result.CloseStatus ?? 0);
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                        return;
                    }

                    var reply = Encoding.UTF8.GetBytes("echo:" + Encoding.UTF8.GetString(buffer, 0, result.Count));
                    await socket.SendAsync(reply, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException)
            {
                CloseReceived.TrySetResult(1006); // the connection was cut without a close frame
            }
        }
    }
}
