using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.FunctionalTests.Grpc;

/// <summary>
/// A real gRPC server (Grpc.AspNetCore) on a loopback Kestrel: cleartext HTTP/2 only (h2c, as a plain gRPC server
/// listens), or HTTPS with HTTP/2 by ALPN when given a certificate.
/// </summary>
public sealed class GrpcUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcUpstream(WebApplication app, OrdersState state, bool tls)
    {
        _app = app;
        State = state;
        Tls = tls;
    }

    public OrdersState State { get; }

    public bool Tls { get; }

    public int Port { get; private set; }

    public string Url => $"{(Tls ? "https" : "http")}://127.0.0.1:{Port}";

    public static async Task<GrpcUpstream> StartAsync(string name, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen =>
        {
            if (certificate is null)
            {
                listen.Protocols = HttpProtocols.Http2;
            }
            else
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            }
        }));

        var state = new OrdersState(name);
        builder.Services.AddSingleton(state);
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<OrdersService>();
        await app.StartAsync();
        var upstream = new GrpcUpstream(app, state, certificate is not null) { Port = new Uri(app.Urls.First()).Port };
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }
}

/// <summary>What the service saw, and the gate a paced stream waits on between its messages.</summary>
public sealed class OrdersState(string name)
{
    public string Name { get; } = name;

    /// <summary>The HTTP protocol of each call as the upstream received it ("HTTP/2").</summary>
    public ConcurrentQueue<string> Protocols { get; } = new();

    /// <summary>A paced stream sends its next message only once the test releases it.</summary>
    public SemaphoreSlim NextMessage { get; } = new(0);

    /// <summary>Completes when a paced stream saw its call cancelled by the client side (an RST_STREAM from the gateway).</summary>
    public TaskCompletionSource CallCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
