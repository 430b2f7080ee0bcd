using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.TestSupport;

namespace Gateway.FunctionalTests.RequestBuffering;

/// <summary>Route RequestBuffering: bodies read whole before anything goes upstream; broken ones never reach it.</summary>
public sealed class RequestBufferingTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static JsonObject Config(RawUpstream upstream, bool buffering)
    {
        var config = GatewayConfig.SingleCluster("raw", ("d1", upstream.Url));
        if (buffering)
        {
            config.Set("ReverseProxy:Routes:all:RequestBuffering", new JsonObject { ["Enabled"] = true, ["MaxBytes"] = 4096 });
        }

        return config;
    }

    [Fact]
    public async Task On_AMalformedChunkedBody_ABodyCutMidway_AndAnOversizedOne_AreRefused_AndNeverReachTheUpstream()
    {
        var upstream = RawUpstream.Start();
        await using var _ = upstream;
        await using var gateway = await GatewayProcess.StartAsync(Config(upstream, buffering: true).ToJson());

        // Bad chunk size after a good chunk.
        using (var client = await RawHttpClient.ConnectAsync(gateway.ProxyPort))
        {
            await client.SendAsync("POST /upload HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n");
            var exchange = await client.ReadAsync(1, Timeout);
            output.WriteLine(exchange.ToString());
            Assert.Equal(400, Assert.Single(exchange.Responses).Status);
            Assert.Contains("\"error\":\"bad_request\"", exchange.Responses[0].Body);
        }

        // 500 of the 1000 declared bytes, then the client stops sending (half-close).
        using (var client = await RawHttpClient.ConnectAsync(gateway.ProxyPort))
        {
            await client.SendAsync("POST /upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 1000\r\n\r\n" + new string('a', 500));
            client.Socket.Shutdown(SocketShutdown.Send);
            var exchange = await client.ReadAsync(1, Timeout);
            output.WriteLine(exchange.ToString());
            // Kestrel takes the end of the client's stream as the client leaving: no one to answer, nothing forwarded.
            Assert.True(exchange.ClosedByServer);
            Assert.All(exchange.Responses, r => Assert.Equal(400, r.Status));
        }

        // A body over MaxBytes (chunked, so no length to refuse it by up front): 413.
        using (var client = await RawHttpClient.ConnectAsync(gateway.ProxyPort))
        {
            var big = new string('b', 5000);
            await client.SendAsync($"POST /upload HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n{big.Length:x}\r\n{big}\r\n0\r\n\r\n");
            var exchange = await client.ReadAsync(1, Timeout);
            Assert.Equal(413, Assert.Single(exchange.Responses).Status);
        }

        Assert.Equal(0, upstream.ConnectionsAccepted); // not even a connection: nothing was sent upstream
        var metrics = await gateway.CreateManagementClient().GetStringAsync("/metrics");
        output.WriteLine(string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("gateway_request_buffering", StringComparison.Ordinal))));
        Assert.Equal(3, Counter(metrics, "bad_body") + Counter(metrics, "client_aborted") + Counter(metrics, "too_large"));
        Assert.Equal(1, Counter(metrics, "too_large"));
        Assert.Equal(0, Counter(metrics, "buffered"));
        Assert.DoesNotContain("warn:", gateway.Output);
    }

    [Fact]
    public async Task On_AChunkedBody_IsForwardedWhole_WithItsContentLength()
    {
        var upstream = RawUpstream.Start();
        await using var _ = upstream;
        await using var gateway = await GatewayProcess.StartAsync(Config(upstream, buffering: true).ToJson());

        using var client = await RawHttpClient.ConnectAsync(gateway.ProxyPort);
        await client.SendAsync("POST /upload HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        var exchange = await client.ReadAsync(1, Timeout);

        Assert.Equal(200, Assert.Single(exchange.Responses).Status);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("hello world", seen.BodyText);
        Assert.Equal("11", seen.Value("Content-Length"));
        Assert.Null(seen.Value("Transfer-Encoding"));
    }

    [Fact]
    public async Task Off_AMalformedChunkedBody_Streams_TheUpstreamGetsTheHeadThenABrokenBody()
    {
        var upstream = RawUpstream.Start();
        await using var _ = upstream;
        await using var gateway = await GatewayProcess.StartAsync(Config(upstream, buffering: false).ToJson());

        using var client = await RawHttpClient.ConnectAsync(gateway.ProxyPort);
        await client.SendAsync("POST /upload HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n");
        await client.WaitForCloseAsync(Timeout);

        // The documented streaming behaviour: the request head was already upstream when the body broke.
        await Wait.UntilAsync(() => !upstream.Requests.IsEmpty, Timeout, "the upstream to see the request head");
        var seen = Assert.Single(upstream.Requests);
        Assert.NotNull(seen.FramingError);
    }

    [Fact]
    public async Task On_APostRefusedAtConnect_IsRetriedOnAnotherDestination_WithItsWholeBody()
    {
        var upstream = RawUpstream.Start();
        await using var _ = upstream;
        int deadPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            deadPort = ((IPEndPoint)probe.LocalEndpoint).Port; // free once the listener stops: connects are refused
        }

        var config = GatewayConfig.SingleCluster("raw", ("dead", $"http://127.0.0.1:{deadPort}"), ("d1", upstream.Url));
        config.Set("ReverseProxy:Routes:all:RequestBuffering", new JsonObject { ["Enabled"] = true });
        config.Set("ReverseProxy:Clusters:raw:Retry", new JsonObject { ["Enabled"] = true });
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        for (var i = 0; i < 6; i++)
        {
            using var content = new StringContent($"order-{i}");
            var response = await client.PostAsync("/orders", content);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"order-{i}"), upstream.Requests.Select(r => r.BodyText));
    }

    private static double Counter(string metrics, string result)
    {
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith("gateway_request_buffering_requests_total{", StringComparison.Ordinal)
                && line.Contains($"result=\"{result}\"", StringComparison.Ordinal) && line.Contains("route=\"all\"", StringComparison.Ordinal))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return -1000;
    }
}
