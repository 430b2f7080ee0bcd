using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.FunctionalTests.AccessLog;

/// <summary>
/// The access log of a real gateway process, read from its stdout: one JSON line per proxy-listener request, with the
/// facts of what happened to it, and never a credential.
/// </summary>
public sealed class AccessLogTests(ITestOutputHelper output)
{
    private const string ClientTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ClientSpanId = "00f067aa0ba902b7";
    private const string SecretToken = "al-secret-token-5d1f";
    private const string SecretCookie = "al-secret-cookie-8c2e";

    private static readonly IPAddress TrustedProxy = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task AMixOfRequests_GetsExactlyOneLineEach_WithWhatHappened_AndNoCredential()
    {
        var hangReceived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var live = await UpstreamServer.StartAsync("live", handler: async context =>
        {
            if (context.Request.Path.StartsWithSegments("/ok/hang"))
            {
                hangReceived.TrySetResult();
            }

            if (context.Request.Path.StartsWithSegments("/slow") || context.Request.Path.StartsWithSegments("/ok/hang"))
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            await context.Response.WriteAsync("ok");
        });
        await using var grpc = await GrpcErrorUpstream.StartAsync(grpcStatus: 5);
        var dead = $"http://127.0.0.1:{Ports.GetFree()}";
        var grpcPort = Ports.GetFree();
        var config = MixConfig(live.Url, dead, grpc.Url);
        var env = new Dictionary<string, string>
        {
            // Cleartext HTTP/2 needs an HTTP/2-only endpoint; any endpoint but Management is a proxy listener.
            ["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{grpcPort}",
            ["Kestrel__Endpoints__Grpc__Protocols"] = "Http2",
        };
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), env);
        await gateway.WaitForLogAsync("Affinity key ring ready", AccessLogKit.Deadline);
        using var client = gateway.CreateProxyClient();

        // 200, with a caller's trace, credentials and allow-listed headers.
        using (var ok = new HttpRequestMessage(HttpMethod.Get, "/ok"))
        {
            ok.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SecretToken);
            ok.Headers.TryAddWithoutValidation("Cookie", $"session={SecretCookie}");
            ok.Headers.TryAddWithoutValidation("traceparent", $"00-{ClientTraceId}-{ClientSpanId}-01");
            ok.Headers.TryAddWithoutValidation("User-Agent", "access-log-test/1.0");
            ok.Headers.TryAddWithoutValidation("X-Request-Id", "req-42");
            await SendAsync(client, ok, HttpStatusCode.OK);
        }

        await SendAsync(client, new HttpRequestMessage(HttpMethod.Get, "/nothing-here"), HttpStatusCode.NotFound);
        await SendAsync(client, new HttpRequestMessage(HttpMethod.Get, "/limited/first"), HttpStatusCode.OK);
        await SendAsync(client, new HttpRequestMessage(HttpMethod.Get, "/limited/second"), HttpStatusCode.TooManyRequests);
        await SendAsync(client, new HttpRequestMessage(HttpMethod.Get, "/dead"), HttpStatusCode.BadGateway);
        await SendAsync(client, new HttpRequestMessage(HttpMethod.Get, "/slow"), HttpStatusCode.GatewayTimeout);
        await SendAsync(client, new HttpRequestMessage(HttpMethod.Get, "/retry"), HttpStatusCode.OK);

        // A client that gives up while the upstream is still working: the gateway sees its connection go.
        using (var giveUp = new CancellationTokenSource())
        using (var impatient = gateway.CreateProxyClient())
        {
            var hanging = impatient.GetAsync("/ok/hang", giveUp.Token);
            await hangReceived.Task.WaitAsync(AccessLogKit.Deadline);
            await giveUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hanging);
        }

        // A new session, then the same client back with its affinity cookie: pinned.
        using var first = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/sticky/first"));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var setCookie = Assert.Single(first.Headers.GetValues("Set-Cookie"), c => c.StartsWith(".Gateway.Affinity.sticky=", StringComparison.Ordinal));
        var affinityCookie = setCookie.Split(';')[0];
        var affinityValue = affinityCookie[(affinityCookie.IndexOf('=') + 1)..];
        using (var back = new HttpRequestMessage(HttpMethod.Get, "/sticky/second"))
        {
            back.Headers.TryAddWithoutValidation("Cookie", affinityCookie);
            await SendAsync(client, back, HttpStatusCode.OK);
        }

        // gRPC over h2c: HTTP 200 with grpc-status 5 in the trailers.
        using (var h2 = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) })
        using (var call = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{grpcPort}/test.Echo/Get")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        })
        {
            call.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            call.Headers.TryAddWithoutValidation("TE", "trailers");
            using var response = await h2.SendAsync(call);
            await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("5", Assert.Single(response.TrailingHeaders.GetValues("grpc-status")));
        }

        // Raw: a request the gateway refuses itself (a control character in a header), and one through a trusted proxy.
        using (var raw = await RawHttpClient.ConnectAsync(gateway.ProxyPort))
        {
            await raw.SendAsync("GET /refused HTTP/1.1\r\nHost: gw.test\r\nX-Bad: a\u0001b\r\n\r\n");
            Assert.Equal(400, Assert.Single((await raw.ReadAsync(1, AccessLogKit.Deadline)).Responses).Status);
        }

        using (var raw = await RawHttpClient.ConnectAsync(gateway.ProxyPort, TrustedProxy))
        {
            await raw.SendAsync("GET /ok/forwarded HTTP/1.1\r\nHost: gw.internal\r\nX-Forwarded-For: 6.6.6.6, 203.0.113.7\r\nX-Forwarded-Host: shop.example\r\nConnection: close\r\n\r\n");
            Assert.Equal(200, Assert.Single((await raw.ReadAsync(1, AccessLogKit.Deadline)).Responses).Status);
        }

        // Management traffic is never in the access log.
        using (var management = gateway.CreateManagementClient())
        {
            (await management.GetAsync("/healthz/ready")).EnsureSuccessStatusCode();
            (await management.GetAsync("/metrics")).EnsureSuccessStatusCode();
        }

        string[] paths = ["/ok", "/ok/hang", "/nothing-here", "/limited/first", "/limited/second", "/dead", "/slow", "/retry", "/sticky/first", "/sticky/second", "/test.Echo/Get", "/refused", "/ok/forwarded"];
        await AccessLogKit.WaitForPathsAsync(gateway, paths);
        var lines = AccessLogKit.Lines(gateway);
        foreach (var line in lines)
        {
            output.WriteLine(line.GetRawText());
        }

        Assert.Equal(paths.Order(StringComparer.Ordinal), lines.Select(l => l.String("path")!).Order(StringComparer.Ordinal));
        JsonElement Line(string path) => Assert.Single(lines.WithPath(path));

        var okLine = Line("/ok");
        Assert.Equal("GET", okLine.String("method"));
        Assert.Equal(200, okLine.GetProperty("status").GetInt32());
        Assert.Equal("127.0.0.1", okLine.String("client"));
        Assert.Equal($"127.0.0.1:{gateway.ProxyPort}", okLine.String("host"));
        Assert.Equal("HTTP/1.1", okLine.String("protocol"));
        Assert.Equal(("ok", "live", "d1"), (okLine.String("route"), okLine.String("cluster"), okLine.String("destination")));
        Assert.Equal(1, okLine.GetProperty("attempts").GetInt32());
        Assert.Equal(2, okLine.GetProperty("bytes_out").GetInt64());
        Assert.Equal(0, okLine.GetProperty("bytes_in").GetInt64());
        Assert.True(okLine.GetProperty("upstream_ms").GetDouble() <= okLine.GetProperty("duration_ms").GetDouble());
        Assert.Equal(ClientTraceId, okLine.String("trace_id"));
        Assert.Matches("^[0-9a-f]{16}$", okLine.String("span_id"));
        Assert.NotEqual(ClientSpanId, okLine.String("span_id"));
        Assert.True(DateTimeOffset.UtcNow - DateTimeOffset.Parse(okLine.String("time")!, System.Globalization.CultureInfo.InvariantCulture) < TimeSpan.FromMinutes(5));
        var headers = okLine.GetProperty("headers");
        Assert.Equal(["user-agent", "x-request-id"], headers.EnumerateObject().Select(h => h.Name));
        Assert.Equal("req-42", headers.GetProperty("x-request-id").GetString());
        Assert.False(okLine.Has("grpc_status") || okLine.Has("error") || okLine.Has("aborted") || okLine.Has("rate_limit") || okLine.Has("affinity"));

        var notFound = Line("/nothing-here");
        Assert.Equal(404, notFound.GetProperty("status").GetInt32());
        Assert.False(notFound.Has("route") || notFound.Has("cluster") || notFound.Has("destination") || notFound.Has("attempts"));

        var allowed = Line("/limited/first");
        Assert.Equal(("allowed", "tiny"), (allowed.String("rate_limit"), allowed.String("rate_limit_policy")));
        var rejected = Line("/limited/second");
        Assert.Equal(429, rejected.GetProperty("status").GetInt32());
        Assert.Equal(("rejected", "tiny", "limited", "live"), (rejected.String("rate_limit"), rejected.String("rate_limit_policy"), rejected.String("route"), rejected.String("cluster")));
        Assert.False(rejected.Has("destination") || rejected.Has("attempts") || rejected.Has("upstream_ms"));

        var badGateway = Line("/dead");
        Assert.Equal(502, badGateway.GetProperty("status").GetInt32());
        Assert.Equal(("dead", "d1", "Request"), (badGateway.String("cluster"), badGateway.String("destination"), badGateway.String("error")));
        Assert.Equal(1, badGateway.GetProperty("attempts").GetInt32());

        var timedOut = Line("/slow");
        Assert.Equal(504, timedOut.GetProperty("status").GetInt32());
        Assert.Equal("RouteTimeout", timedOut.String("error"));
        Assert.InRange(timedOut.GetProperty("duration_ms").GetDouble(), 900, 30_000);

        var retried = Line("/retry");
        Assert.Equal(200, retried.GetProperty("status").GetInt32());
        Assert.Equal(2, retried.GetProperty("attempts").GetInt32());
        Assert.Equal(("retrying", "b-live"), (retried.String("cluster"), retried.String("destination")));
        Assert.False(retried.Has("error"));

        var cut = Line("/ok/hang");
        Assert.True(cut.GetProperty("aborted").GetBoolean());
        Assert.Equal("RequestCanceled", cut.String("error"));

        var newSession = Line("/sticky/first");
        var pinned = Line("/sticky/second");
        Assert.Equal("new", newSession.String("affinity"));
        Assert.Equal("pinned", pinned.String("affinity"));
        Assert.Equal(newSession.String("destination"), pinned.String("destination"));

        var grpcLine = Line("/test.Echo/Get");
        Assert.Equal(("POST", "HTTP/2", 200, "NOT_FOUND"), (grpcLine.String("method"), grpcLine.String("protocol"), grpcLine.GetProperty("status").GetInt32(), grpcLine.String("grpc_status")));
        Assert.Equal(5, grpcLine.GetProperty("bytes_in").GetInt64());
        Assert.Equal(("grpc", "grpc", "g1"), (grpcLine.String("route"), grpcLine.String("cluster"), grpcLine.String("destination")));

        var refused = Line("/refused");
        Assert.Equal(400, refused.GetProperty("status").GetInt32());
        Assert.False(refused.Has("route"));

        var forwarded = Line("/ok/forwarded");
        Assert.Equal("203.0.113.7", forwarded.String("client")); // the trusted proxy's word, not the address it prepended to
        Assert.Equal("shop.example", forwarded.String("host"));

        var everything = gateway.Output;
        Assert.DoesNotContain(SecretToken, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretCookie, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(affinityValue, everything, StringComparison.Ordinal);
        // The counter moves just after the line is out (and a scrape may be served from the exporter's short cache).
        await Wait.UntilAsync(async () => await ScrapeAsync(gateway, "gateway_access_log_written_total") >= paths.Length, TimeSpan.FromSeconds(10), "every line counted as written");
        Assert.Equal(0, await ScrapeAsync(gateway, "gateway_access_log_dropped_total"));
    }

    [Fact]
    public async Task AtSampleRateZero_TheErrorsAreStillLogged_AndNoSuccess()
    {
        await using var live = await UpstreamServer.StartAsync("live");
        var config = GatewayConfig.SingleCluster("live", ("d1", live.Url))
            .Set("ReverseProxy:Routes:all:Match:Path", "/ok/{**rest}")
            .Set("ReverseProxy:Routes:dead", new JsonObject { ["ClusterId"] = "dead", ["Match"] = new JsonObject { ["Path"] = "/dead" } })
            .Set("ReverseProxy:Clusters:dead:Destinations:d1:Address", $"http://127.0.0.1:{Ports.GetFree()}")
            .Set("Gateway:AccessLog", new JsonObject { ["Enabled"] = true, ["SampleRate"] = 0 });
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        for (var i = 0; i < 5; i++)
        {
            await SendAsync(client, new HttpRequestMessage(HttpMethod.Get, $"/ok/{i}"), HttpStatusCode.OK);
        }

        await SendAsync(client, new HttpRequestMessage(HttpMethod.Get, "/missing"), HttpStatusCode.NotFound);
        await SendAsync(client, new HttpRequestMessage(HttpMethod.Get, "/dead"), HttpStatusCode.BadGateway);

        // The writer keeps order: once the errors (sent last) are out, any success line would be too.
        await AccessLogKit.WaitForPathsAsync(gateway, "/missing", "/dead");
        var lines = AccessLogKit.Lines(gateway);
        Assert.Equal(["/missing", "/dead"], lines.Select(l => l.String("path")));
        Assert.Equal(2, await ScrapeAsync(gateway, "gateway_access_log_written_total"));
    }

    [Fact]
    public async Task WithStdoutStuck_RequestsAreNotHeldUp_AndTheDroppedLinesAreCounted()
    {
        await using var live = await UpstreamServer.StartAsync("live");
        var config = GatewayConfig.SingleCluster(live).Set("Gateway:AccessLog", new JsonObject { ["Enabled"] = true, ["BufferSize"] = 16 });
        // Nobody reads its stdout: once the pipe (64 KiB) is full, the writer's thread blocks in write(2) for good.
        await using var gateway = await GatewayProcess.StartWithUnreadStdoutAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        const int batch = 400;
        var first = await BatchAsync(client, batch);
        var second = await BatchAsync(client, batch);

        // Lines of ~300 bytes: the pipe and the buffer hold a few hundred; the rest of 800 were dropped, and no request
        // waited for them (a request blocked on the log would never have finished: stdout is never read).
        var dropped = await ScrapeAsync(gateway, "gateway_access_log_dropped_total");
        var written = await ScrapeAsync(gateway, "gateway_access_log_written_total");
        output.WriteLine($"first {batch}: {first.TotalMilliseconds:F0} ms, second {batch} (buffer full throughout): {second.TotalMilliseconds:F0} ms; written {written}, dropped {dropped}");
        Assert.True(dropped > 0, $"expected dropped lines with stdout stuck; written {written}");
        Assert.True(written + dropped <= 2 * batch, $"written {written} + dropped {dropped} > {2 * batch} requests");
    }

    /// <summary>Sends <paramref name="count"/> GETs, 4 at a time; each must succeed, all within a generous deadline.</summary>
    private static async Task<TimeSpan> BatchAsync(HttpClient client, int count)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = deadline.Token }, async (i, token) =>
        {
            using var response = await client.GetAsync($"/load/{i}", token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        });
        return watch.Elapsed;
    }

    private static async Task SendAsync(HttpClient client, HttpRequestMessage request, HttpStatusCode expected)
    {
        using (request)
        using (var response = await client.SendAsync(request))
        {
            await response.Content.ReadAsStringAsync();
            Assert.Equal(expected, response.StatusCode);
        }
    }

    private static async Task<double> ScrapeAsync(GatewayProcess gateway, string metric)
    {
        using var management = gateway.CreateManagementClient();
        var text = await management.GetStringAsync("/metrics");
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(metric + "{", StringComparison.Ordinal) || line.StartsWith(metric + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static JsonObject MixConfig(string live, string dead, string grpc)
    {
        static JsonObject Route(string cluster, string path) => new() { ["ClusterId"] = cluster, ["Match"] = new JsonObject { ["Path"] = path } };
        static JsonObject Destinations(params (string Id, string Url)[] destinations)
        {
            var result = new JsonObject();
            foreach (var (id, url) in destinations)
            {
                result[id] = new JsonObject { ["Address"] = url };
            }

            return result;
        }

        var noPassiveHealth = JsonNode.Parse("""{ "Passive": { "Enabled": false } }""");
        return new JsonObject
        {
            ["Gateway"] = new JsonObject
            {
                ["AccessLog"] = new JsonObject { ["Enabled"] = true, ["Format"] = "Json", ["SampleRate"] = 1.0, ["Headers"] = new JsonArray("User-Agent", "X-Request-Id") },
                ["RateLimiting"] = new JsonObject
                {
                    ["Policies"] = new JsonObject
                    {
                        ["tiny"] = new JsonObject { ["Algorithm"] = "FixedWindow", ["PermitLimit"] = 1, ["Window"] = "01:00:00", ["PartitionBy"] = "Route" },
                    },
                },
                ["ForwardedHeaders"] = new JsonObject { ["KnownProxies"] = new JsonArray("127.0.0.2") },
            },
            ["ReverseProxy"] = new JsonObject
            {
                ["Routes"] = new JsonObject
                {
                    ["ok"] = Route("live", "/ok/{**rest}"),
                    ["limited"] = Route("live", "/limited/{**rest}").Set("RateLimiterPolicy", "tiny"),
                    ["dead"] = Route("dead", "/dead"),
                    ["slow"] = Route("live", "/slow").Set("Timeout", "00:00:01"),
                    ["retry"] = Route("retrying", "/retry"),
                    ["sticky"] = Route("sticky", "/sticky/{**rest}"),
                    ["grpc"] = Route("grpc", "/test.Echo/{**method}"),
                },
                ["Clusters"] = new JsonObject
                {
                    ["live"] = new JsonObject { ["Destinations"] = Destinations(("d1", live)) },
                    ["dead"] = new JsonObject { ["Destinations"] = Destinations(("d1", dead)), ["HealthCheck"] = noPassiveHealth!.DeepClone() },
                    // The first attempt goes to the closed port (first alphabetically), the retry to the live one.
                    ["retrying"] = new JsonObject
                    {
                        ["LoadBalancingPolicy"] = "FirstAlphabetical",
                        ["Destinations"] = Destinations(("a-dead", dead), ("b-live", live)),
                        ["Retry"] = new JsonObject { ["Enabled"] = true, ["MaxAttempts"] = 2, ["BudgetPercent"] = 100 },
                        ["HealthCheck"] = noPassiveHealth.DeepClone(),
                    },
                    ["sticky"] = new JsonObject
                    {
                        ["Destinations"] = Destinations(("s1", live), ("s2", live)),
                        ["SessionAffinity"] = new JsonObject { ["Enabled"] = true },
                    },
                    ["grpc"] = new JsonObject
                    {
                        ["Destinations"] = Destinations(("g1", grpc)),
                        ["HttpRequest"] = new JsonObject { ["Version"] = "2", ["VersionPolicy"] = "RequestVersionExact" },
                    },
                },
            },
        };
    }
}
