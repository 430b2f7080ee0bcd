using System.Collections.Concurrent;
using System.Net;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Gateway.FunctionalTests.Configuration;

/// <summary>
/// YARP's own sample config (samples/ReverseProxy.Config.Sample/appsettings.json, carried verbatim in
/// tests/Gateway.Tests/Configuration/Yarp) loads and serves with only the destination addresses changed.
/// </summary>
public sealed class YarpSampleTests
{
    private static readonly string SamplePath = Path.Combine(TestPaths.RepoRoot, "tests", "Gateway.Tests", "Configuration", "Yarp", "ReverseProxy.Config.Sample.appsettings.json");

    [Fact]
    public async Task YarpsSample_LoadsAndServes_WithOnlyTheDestinationAddressesChanged()
    {
        await using var minimal = await UpstreamServer.StartAsync("minimal");
        await using var first = await TlsUpstream.StartAsync();
        await using var another = await TlsUpstream.StartAsync();
        var sample = await File.ReadAllTextAsync(SamplePath);
        var config = sample
            .Replace("\"http://www.example.com\"", $"\"{minimal.Url}\"", StringComparison.Ordinal)
            .Replace("\"https://dotnet.microsoft.com\"", $"\"{first.Url}\"", StringComparison.Ordinal)
            .Replace("\"https://10.20.30.40:12345\"", $"\"{another.Url}\"", StringComparison.Ordinal)
            .Replace("\"https://10.20.30.40\"", $"\"{another.Url}\"", StringComparison.Ordinal);
        Assert.Equal(4, CountChangedLines(sample, config));

        await using var gateway = await GatewayProcess.StartAsync(config);
        using var client = gateway.CreateProxyClient();

        // minimalRoute: everything else goes to minimalCluster.
        var plain = await client.GetAsync($"{gateway.ProxyUrl}/anything");
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal("minimal", await plain.Content.ReadAsStringAsync());

        // allRouteProps: host, method, header and query match; the transform, HTTP/2 over TLS 1.3 and HashCookie affinity apply.
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{gateway.ProxyUrl}/download/file.zip?MyQueryParameter=value1");
        request.Headers.Host = "localhost";
        request.Headers.Add("MyCustomHeader", "value1");
        var routed = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, routed.StatusCode);
        // The sample's active health checks (GET /favicon.ico?healthCheck=true every 10 s) reach both upstreams too.
        var seen = Assert.Single(first.Requests.Concat(another.Requests), r => r.PathAndQuery.StartsWith("/download/", StringComparison.Ordinal));
        Assert.Equal("/download/file.zip?MyQueryParameter=value1", seen.PathAndQuery);
        Assert.Equal("MyValue", seen.Headers["MyHeader"]);
        Assert.Equal("HTTP/2", seen.Protocol);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, seen.Tls);
        Assert.Contains(routed.Headers.GetValues("Set-Cookie"), c => c.StartsWith("MySessionCookieName=", StringComparison.Ordinal));
        if (another.Requests.Contains(seen))
        {
            Assert.Equal("contoso", seen.Headers["Host"]); // the destination's Host
        }

        // A case-sensitive header value that differs only in case does not match allRouteProps.
        using var wrongCase = new HttpRequestMessage(HttpMethod.Get, $"{gateway.ProxyUrl}/download/file.zip?MyQueryParameter=value1");
        wrongCase.Headers.Host = "localhost";
        wrongCase.Headers.Add("MyCustomHeader", "VALUE1");
        Assert.Equal("minimal", await (await client.SendAsync(wrongCase)).Content.ReadAsStringAsync());

        Assert.DoesNotContain("unknown key", gateway.Output, StringComparison.Ordinal);
    }

    private static int CountChangedLines(string before, string after) =>
        before.Split('\n').Zip(after.Split('\n')).Count(pair => pair.First != pair.Second);

    private sealed record TlsRequest(string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Protocol, System.Security.Authentication.SslProtocols Tls);

    /// <summary>An HTTPS upstream (HTTP/1.1 and HTTP/2 by ALPN) with a self-signed certificate made for the test.</summary>
    private sealed class TlsUpstream : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private TlsUpstream(WebApplication app) => _app = app;

        public ConcurrentQueue<TlsRequest> Requests { get; } = new();

        public string Url { get; private set; } = string.Empty;

        public static async Task<TlsUpstream> StartAsync()
        {
            var certificate = TestCertificate.Create("CN=localhost").Certificate;

            var builder = WebApplication.CreateSlimBuilder();
            builder.Configuration.Sources.Clear();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            }));
            var app = builder.Build();
            var upstream = new TlsUpstream(app);
            app.Run(async context =>
            {
                var tls = context.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>()?.Protocol ?? default;
                upstream.Requests.Enqueue(new TlsRequest(
                    context.Request.Path + context.Request.QueryString,
                    context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                    context.Request.Protocol,
                    tls));
                await context.Response.WriteAsync("tls");
            });
            await app.StartAsync();
            upstream.Url = new Uri(app.Urls.First()).GetLeftPart(UriPartial.Authority).Replace("[::1]", "127.0.0.1", StringComparison.Ordinal);
            return upstream;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
