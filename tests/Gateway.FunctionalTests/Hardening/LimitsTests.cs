using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Hardening;

public sealed class LimitsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static JsonObject Config(RawUpstream upstream)
    {
        var config = GatewayConfig.SingleCluster("raw", ("d1", upstream.Url));
        config.Set("ReverseProxy:Routes:all:Match:Path", "/api/{**rest}");
        return config;
    }

    private static async Task<RawExchange> ExchangeAsync(GatewayProcess gateway, string request)
    {
        using var client = await RawHttpClient.ConnectAsync(gateway.ProxyPort);
        await client.SendAsync(request);
        return await client.ReadAsync(1, Timeout);
    }

    [Fact]
    public async Task Slowloris_TricklingHeaderBytes_IsDisconnectedWithinTheTimeout_WhileOtherClientsAreServed()
    {
        await using var upstream = RawUpstream.Start();
        await using var gateway = await GatewayProcess.StartAsync(Config(upstream).Set("Gateway:Limits:RequestHeadersTimeout", "00:00:02").ToJson());
        using var normal = gateway.CreateProxyClient(TimeSpan.FromSeconds(10));

        var slow = new List<Task<TimeSpan>>();
        for (var i = 0; i < 5; i++)
        {
            slow.Add(TrickleUntilClosedAsync(gateway.ProxyPort));
        }

        // Meanwhile ordinary clients are served normally.
        var served = 0;
        while (slow.Any(t => !t.IsCompleted))
        {
            using var response = await normal.GetAsync("/api/normal");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            served++;
            await Task.Delay(50);
        }

        var durations = await Task.WhenAll(slow);
        output.WriteLine($"slow clients closed after {string.Join(", ", durations.Select(d => $"{d.TotalSeconds:F2} s"))}; {served} normal requests served meanwhile");
        Assert.True(served >= 5, $"only {served} normal requests were served");

        // Kestrel checks the timeout on a 1 s heartbeat: 2 s timeout -> closed within ~3 s; a loaded box gets slack.
        Assert.All(durations, d => Assert.InRange(d.TotalSeconds, 1.5, 8));
        Assert.DoesNotContain(upstream.Requests, r => r.Target.Contains("slow", StringComparison.Ordinal));
    }

    private static async Task<TimeSpan> TrickleUntilClosedAsync(int port)
    {
        using var client = await RawHttpClient.ConnectAsync(port);
        var watch = Stopwatch.StartNew();
        await client.SendAsync("GET /api/slow HTTP/1.1\r\nHost: gw.test\r\n");
        var closed = client.WaitForCloseAsync(TimeSpan.FromSeconds(20));
        var header = "X-Slow: " + new string('a', 200);
        for (var i = 0; i < header.Length && !closed.IsCompleted; i++)
        {
            await client.SendAsync(header[i].ToString());
            await Task.WhenAny(closed, Task.Delay(300));
        }

        Assert.True(await closed, "the slow client was never disconnected");
        return watch.Elapsed;
    }

    [Fact]
    public async Task ConfiguredLimits_ApplyToTheProxyListener_AndARouteCanRaiseTheBodyLimit()
    {
        await using var upstream = RawUpstream.Start();
        var config = Config(upstream)
            .Set("Gateway:Limits:MaxRequestBodySize", 1024)
            .Set("Gateway:Limits:MaxRequestHeadersTotalSize", 2048)
            .Set("Gateway:Limits:MaxRequestLineSize", 1024)
            .Set("ReverseProxy:Routes:big", JsonNode.Parse("""{ "ClusterId": "raw", "Match": { "Path": "/big/{**rest}" }, "MaxRequestBodySize": 100000 }"""));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        var body = new string('b', 4096);

        var tooBig = await ExchangeAsync(gateway, $"POST /api/upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        Assert.Equal(413, tooBig.Responses[0].Status);
        Assert.Empty(upstream.Requests);

        var raised = await ExchangeAsync(gateway, $"POST /big/upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        Assert.Equal(200, raised.Responses[0].Status);
        Assert.Equal(4096, Assert.Single(upstream.Requests).Body.Length);

        var small = await ExchangeAsync(gateway, "POST /api/upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 5\r\n\r\nhello");
        Assert.Equal(200, small.Responses[0].Status);

        var bigHeaders = await ExchangeAsync(gateway, $"GET /api/h HTTP/1.1\r\nHost: gw.test\r\nX-Big: {new string('h', 3000)}\r\n\r\n");
        Assert.Equal(431, bigHeaders.Responses[0].Status);

        var longLine = await ExchangeAsync(gateway, $"GET /api/{new string('l', 2000)} HTTP/1.1\r\nHost: gw.test\r\n\r\n");
        Assert.Equal(414, longLine.Responses[0].Status);
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task MaxConcurrentConnections_CapsTheProxyListener_ButNotTheManagementListener()
    {
        await using var upstream = RawUpstream.Start();
        await using var gateway = await GatewayProcess.StartAsync(Config(upstream).Set("Gateway:Limits:MaxConcurrentConnections", 3).ToJson());

        var held = new List<RawHttpClient>();
        for (var i = 0; i < 3; i++)
        {
            var client = await RawHttpClient.ConnectAsync(gateway.ProxyPort);
            await client.SendAsync("GET /api/held HTTP/1.1\r\nHost: gw.test\r\n\r\n");
            Assert.Equal(200, (await client.ReadAsync(1, Timeout)).Responses[0].Status);
            held.Add(client);
        }

        using (var fourth = await RawHttpClient.ConnectAsync(gateway.ProxyPort))
        {
            await fourth.SendAsync("GET /api/extra HTTP/1.1\r\nHost: gw.test\r\n\r\n");
            var refused = await fourth.ReadAsync(1, Timeout);
            Assert.Empty(refused.Responses);
            Assert.True(refused.ClosedByServer);
        }

        using var management = gateway.CreateManagementClient();
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/healthz/ready")).StatusCode);
        await gateway.WaitForLogAsync("Gateway:Limits:MaxConcurrentConnections", Timeout);

        // Once one closes, a new connection is accepted again.
        held[0].Dispose();
        await Wait.UntilAsync(async () =>
        {
            using var next = await RawHttpClient.ConnectAsync(gateway.ProxyPort);
            await next.SendAsync("GET /api/again HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n");
            var exchange = await next.ReadAsync(1, Timeout);
            return exchange.Responses.Count == 1 && exchange.Responses[0].Status == 200;
        }, Timeout, "a proxy connection accepted after one of the held ones closed");

        foreach (var client in held)
        {
            client.Dispose();
        }

        Assert.DoesNotContain(upstream.Requests, r => r.Target == "/api/extra");
    }
}
