using System.Net;
using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Gateway.FunctionalTests.AccessLog;

/// <summary>Reading the access log out of a gateway's stdout, and the gRPC upstream the tests need.</summary>
internal static class AccessLogKit
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>The access-log lines so far: stdout lines that are JSON objects (console logs are plain text in tests).</summary>
    public static List<JsonElement> Lines(GatewayProcess gateway)
    {
        var lines = new List<JsonElement>();
        foreach (var line in gateway.OutputLines)
        {
            if (line.StartsWith('{'))
            {
                using var document = JsonDocument.Parse(line);
                lines.Add(document.RootElement.Clone());
            }
        }

        return lines;
    }

    public static List<JsonElement> WithPath(this List<JsonElement> lines, string path) =>
        lines.Where(l => l.TryGetProperty("path", out var p) && p.GetString() == path).ToList();

    /// <summary>Waits until every path in <paramref name="paths"/> has at least one line.</summary>
    public static Task WaitForPathsAsync(GatewayProcess gateway, params string[] paths) =>
        Wait.UntilAsync(
            () => Task.FromResult(paths.All(p => Lines(gateway).WithPath(p).Count > 0)),
            Deadline,
            () => $"access-log lines for {string.Join(", ", paths.Where(p => Lines(gateway).WithPath(p).Count == 0))}\n--- output ---\n{gateway.Output}");

    public static string? String(this JsonElement line, string key) =>
        line.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static bool Has(this JsonElement line, string key) => line.TryGetProperty(key, out _);
}

/// <summary>
/// A cleartext HTTP/2 (h2c) upstream that answers every request as a gRPC server does for an error: status 200,
/// <c>Content-Type: application/grpc</c>, no message, trailer <c>grpc-status</c>. No gRPC library needed.
/// </summary>
internal sealed class GrpcErrorUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcErrorUpstream(WebApplication app, int port)
    {
        _app = app;
        Url = $"http://127.0.0.1:{port}";
    }

    public string Url { get; }

    public static async Task<GrpcErrorUpstream> StartAsync(int grpcStatus)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.Run(async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            context.Response.ContentType = "application/grpc";
            context.Response.AppendTrailer("grpc-status", grpcStatus.ToString(System.Globalization.CultureInfo.InvariantCulture));
            context.Response.AppendTrailer("grpc-message", "no such thing");
        });
        await app.StartAsync();
        return new GrpcErrorUpstream(app, new Uri(app.Urls.First()).Port);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
