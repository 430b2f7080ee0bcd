using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace Gateway.FunctionalTests.Tls;

/// <summary>
/// An HTTPS upstream on 127.0.0.1 whose certificate the test can switch, that may require client certificates issued by
/// a given CA. HTTP/1.1 only, so a request made while another is in flight opens (and handshakes) a new connection.
/// </summary>
public sealed class TlsUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private volatile X509Certificate2 _certificate;

    private TlsUpstream(WebApplication app, X509Certificate2 certificate)
    {
        _app = app;
        _certificate = certificate;
    }

    public int Port { get; private set; }

    public string Url => $"https://127.0.0.1:{Port}";

    /// <summary>Client certificates' subjects, one per connection that presented one.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> ClientSubjects { get; } = new();

    /// <summary>Set to hold requests to /slow until it completes.</summary>
    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Serve(TestCertificate certificate) => _certificate = certificate.Certificate;

    public static async Task<TlsUpstream> StartAsync(TestCertificate certificate, TestCertificate? requireClientsFrom = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        TlsUpstream? upstream = null;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificateSelector = (_, _) => upstream!._certificate,
                ClientCertificateMode = requireClientsFrom is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.RequireCertificate,
                ClientCertificateValidation = (client, _, _) => requireClientsFrom is not null && TlsProbe.IssuedBy(client, requireClientsFrom),
            });
        }));
        var app = builder.Build();
        upstream = new TlsUpstream(app, certificate.Certificate);
        app.Run(async context =>
        {
            if (context.Connection.ClientCertificate is { } client)
            {
                upstream.ClientSubjects.Enqueue(client.Subject);
            }

            if (context.Request.Path == "/slow")
            {
                await context.Response.WriteAsync("slow-start\n");
                await context.Response.Body.FlushAsync();
                await upstream.Release.Task;
                await context.Response.WriteAsync("slow-end");
                return;
            }

            await context.Response.WriteAsync("tls-upstream");
        });
        await app.StartAsync();
        upstream.Port = new Uri(app.Urls.First()).Port;
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        Release.TrySetResult();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
