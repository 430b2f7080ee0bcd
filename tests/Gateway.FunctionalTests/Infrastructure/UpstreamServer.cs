using System.Collections.Concurrent;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;

namespace Gateway.FunctionalTests.Infrastructure;

public sealed record RecordedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Protocol, string ConnectionId, int BodyLength);

/// <summary>How a connection to the upstream ended, seen from the upstream.</summary>
public sealed class ConnectionRecord
{
    public required string Id { get; init; }

    public DateTime OpenedUtc { get; init; } = DateTime.UtcNow;

    public DateTime? ClosedUtc { get; set; }

    /// <summary>The peer (the gateway) closed its side gracefully: we read end-of-stream (a FIN).</summary>
    public bool PeerClosedGracefully { get; set; }

    /// <summary>The peer reset the connection (an RST).</summary>
    public bool PeerReset { get; set; }

    public bool IsOpen => ClosedUtc is null;
}

/// <summary>
/// A real Kestrel upstream on 127.0.0.1 that records every request and every TCP connection it accepts,
/// including whether the gateway closed it with a FIN or an RST.
/// </summary>
public sealed class UpstreamServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConnectionRecord> _connections = new();

    private UpstreamServer(string name, WebApplication app)
    {
        Name = name;
        _app = app;
    }

    public string Name { get; }

    public int Port { get; private set; }

    /// <summary>The loopback address it listens on: 127.0.0.1 unless started on another (a "pod" of its own, 127.0.0.x).</summary>
    public System.Net.IPAddress Address { get; private set; } = System.Net.IPAddress.Loopback;

    public string Url => $"http://{Address}:{Port}";

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public IReadOnlyCollection<ConnectionRecord> Connections => _connections.Values.ToList();

    public int ConnectionsAccepted => _connections.Count;

    public int ConnectionsOpen => _connections.Values.Count(c => c.IsOpen);

    /// <summary>Replaces the default handler (200, body = name, header X-Upstream = name).</summary>
    public Func<HttpContext, Task>? Handler { get; set; }

    public static async Task<UpstreamServer> StartAsync(string name, int port = 0, Func<HttpContext, Task>? handler = null, System.Net.IPAddress? address = null)
    {
        address ??= System.Net.IPAddress.Loopback;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        UpstreamServer? server = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(5);
            kestrel.Listen(address, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.Use(next => async connection =>
                {
                    var record = new ConnectionRecord { Id = connection.ConnectionId };
                    server!._connections[connection.ConnectionId] = record;
                    connection.Transport = new ObservedPipe(connection.Transport, record);
                    try
                    {
                        await next(connection);
                    }
                    finally
                    {
                        record.ClosedUtc = DateTime.UtcNow;
                    }
                });
            });
        });

        var app = builder.Build();
        server = new UpstreamServer(name, app) { Handler = handler, Address = address };
        app.Run(async context =>
        {
            var body = 0;
            if (server.Handler is null)
            {
                var buffer = new byte[16 * 1024];
                int read;
                while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
                {
                    body += read;
                }
            }

            server.Requests.Enqueue(new RecordedRequest(
                context.Request.Method,
                context.Request.Path + context.Request.QueryString,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                context.Request.Protocol,
                context.Connection.Id,
                body));

            if (server.Handler is { } custom)
            {
                await custom(context);
                return;
            }

            context.Response.Headers["X-Upstream"] = name;
            await context.Response.WriteAsync(name);
        });

        await app.StartAsync();
        server.Port = new Uri(app.Urls.First()).Port;
        return server;
    }

    /// <summary>Stops listening and drops open connections at once, like a killed pod.</summary>
    public async Task KillAsync()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await _app.StopAsync(cancelled.Token);
        await _app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _app.StopAsync(timeout.Token);
            await _app.DisposeAsync();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Watches the raw input to tell a peer's FIN from an RST.</summary>
    private sealed class ObservedPipe(IDuplexPipe inner, ConnectionRecord record) : IDuplexPipe
    {
        public PipeReader Input { get; } = new ObservedReader(inner.Input, record);

        public PipeWriter Output => inner.Output;
    }

    private sealed class ObservedReader(PipeReader inner, ConnectionRecord record) : PipeReader
    {
        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                var result = await inner.ReadAsync(cancellationToken);
                if (result.IsCompleted)
                {
                    record.PeerClosedGracefully = true;
                }

                return result;
            }
            catch (ConnectionResetException)
            {
                record.PeerReset = true;
                throw;
            }
        }

        public override bool TryRead(out ReadResult result)
        {
            var read = inner.TryRead(out result);
            if (read && result.IsCompleted)
            {
                record.PeerClosedGracefully = true;
            }

            return read;
        }
    }
}
