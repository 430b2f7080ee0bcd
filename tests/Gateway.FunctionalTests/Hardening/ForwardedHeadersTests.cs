using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Hardening;

/// <summary>
/// Who the client is: X-Forwarded-* from an untrusted peer are replaced with what the gateway saw; from a configured
/// trusted proxy they are honoured. Both peers are loopback: 127.0.0.2 plays the trusted proxy, 127.0.0.1 a client.
/// </summary>
public sealed class ForwardedHeadersTests
{
    private static readonly IPAddress ProxyAddress = IPAddress.Parse("127.0.0.2");
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private const string Spoofing =
        "GET /api/who HTTP/1.1\r\nHost: gw.test\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n" +
        "X-Forwarded-Host: evil.example\r\nForwarded: for=6.6.6.6;proto=https\r\nX-Original-For: 6.6.6.6\r\nConnection: close\r\n\r\n";

    private static async Task<(RawUpstream Upstream, GatewayProcess Gateway)> StartAsync(Action<JsonObject>? configure = null)
    {
        var upstream = RawUpstream.Start();
        var config = GatewayConfig.SingleCluster("raw", ("d1", upstream.Url));
        config.Set("ReverseProxy:Routes:all:Match:Path", "/api/{**rest}");
        configure?.Invoke(config);
        return (upstream, await GatewayProcess.StartAsync(config.ToJson()));
    }

    private static async Task<RawRequest> SendAsync(RawUpstream upstream, GatewayProcess gateway, IPAddress source, string request)
    {
        upstream.Requests.Clear();
        using var client = await RawHttpClient.ConnectAsync(gateway.ProxyPort, source);
        await client.SendAsync(request);
        var exchange = await client.ReadAsync(1, Timeout);
        Assert.Equal(200, Assert.Single(exchange.Responses).Status);
        return Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task UntrustedClient_SpoofingForwardedHeaders_IsReplacedWithItsSocketAddress()
    {
        var (upstream, gateway) = await StartAsync(c => c.Set("Gateway:ForwardedHeaders:KnownProxies", new JsonArray("10.1.2.3")));
        await using var _ = upstream;
        await using var __ = gateway;

        var request = await SendAsync(upstream, gateway, ProxyAddress, Spoofing);

        Assert.Equal("127.0.0.2", request.Value("X-Forwarded-For"));
        Assert.Equal("http", request.Value("X-Forwarded-Proto"));
        Assert.Equal("gw.test", request.Value("X-Forwarded-Host"));
        Assert.Null(request.Value("Forwarded"));
        Assert.Null(request.Value("X-Original-For"));
    }

    [Fact]
    public async Task TrustedProxy_ForwardedHeaders_AreHonoured_AndAnUntrustedPeerOnTheSameGatewayIsNot()
    {
        var (upstream, gateway) = await StartAsync(c => c.Set("Gateway:ForwardedHeaders:KnownProxies", new JsonArray("127.0.0.2")));
        await using var _ = upstream;
        await using var __ = gateway;

        // Through the trusted proxy: its view of the client wins; an address the client itself prepended does not.
        var viaProxy = await SendAsync(upstream, gateway, ProxyAddress,
            "GET /api/who HTTP/1.1\r\nHost: gw.internal\r\nX-Forwarded-For: 6.6.6.6, 203.0.113.7\r\nX-Forwarded-Proto: https\r\n" +
            "X-Forwarded-Host: shop.example\r\nConnection: close\r\n\r\n");
        Assert.Equal("203.0.113.7", viaProxy.Value("X-Forwarded-For"));
        Assert.Equal("https", viaProxy.Value("X-Forwarded-Proto"));
        Assert.Equal("shop.example", viaProxy.Value("X-Forwarded-Host"));
        Assert.Null(viaProxy.Value("X-Original-For"));

        // Directly from 127.0.0.1, which is not listed: spoofed values are replaced.
        var direct = await SendAsync(upstream, gateway, IPAddress.Loopback, Spoofing);
        Assert.Equal("127.0.0.1", direct.Value("X-Forwarded-For"));
        Assert.Equal("http", direct.Value("X-Forwarded-Proto"));
        Assert.Equal("gw.test", direct.Value("X-Forwarded-Host"));
        Assert.Null(direct.Value("Forwarded"));
        Assert.Contains("Forwarded headers are honoured from 1 known proxies", gateway.Output);
    }

    [Fact]
    public async Task TrustedNetwork_IsHonoured_AndLoopbackIsNotTrustedByDefault()
    {
        var (upstream, gateway) = await StartAsync(c => c.Set("Gateway:ForwardedHeaders:KnownNetworks", new JsonArray("127.0.0.2/32")));
        await using var _ = upstream;
        await using var __ = gateway;

        var viaProxy = await SendAsync(upstream, gateway, ProxyAddress,
            "GET /api/who HTTP/1.1\r\nHost: gw.test\r\nX-Forwarded-For: 198.51.100.4\r\nConnection: close\r\n\r\n");
        Assert.Equal("198.51.100.4", viaProxy.Value("X-Forwarded-For"));

        // ASP.NET Core trusts 127.0.0.0/8 out of the box; the gateway does not.
        var direct = await SendAsync(upstream, gateway, IPAddress.Loopback,
            "GET /api/who HTTP/1.1\r\nHost: gw.test\r\nX-Forwarded-For: 198.51.100.4\r\nConnection: close\r\n\r\n");
        Assert.Equal("127.0.0.1", direct.Value("X-Forwarded-For"));
    }

    [Fact]
    public async Task HopByHopHeaders_AndHeadersNominatedByConnection_AreNotForwarded()
    {
        var (upstream, gateway) = await StartAsync();
        await using var _ = upstream;
        await using var __ = gateway;

        var request = await SendAsync(upstream, gateway, IPAddress.Loopback,
            "GET /api/hop HTTP/1.1\r\nHost: gw.test\r\nConnection: X-Hop-Secret, Cookie\r\nKeep-Alive: timeout=5\r\n" +
            "TE: gzip\r\nTrailer: X-Checksum\r\nProxy-Authorization: Basic c2VjcmV0\r\nProxy-Connection: keep-alive\r\n" +
            "Upgrade: foo/1\r\nX-Hop-Secret: 1\r\nCookie: session=abc\r\nX-End-To-End: kept\r\n\r\n");

        Assert.Equal("kept", request.Value("X-End-To-End"));
        foreach (var name in new[] { "Connection", "Keep-Alive", "TE", "Trailer", "Proxy-Authorization", "Proxy-Connection", "Upgrade", "X-Hop-Secret", "Cookie", "Transfer-Encoding" })
        {
            Assert.True(request.Value(name) is null, $"{name} was forwarded: {request.Head}");
        }
    }
}
