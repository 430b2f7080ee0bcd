using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.FunctionalTests.TrafficSplit;

/// <summary>Request mirroring: fire-and-forget copies to a shadow cluster that never affect the client's response.</summary>
public sealed class MirrorTests(ITestOutputHelper output)
{
    private const int MaxBodyBytes = 32 * 1024;

    /// <summary>Route "on" (/on/...) mirrors 100% to "shadow"; route "off" (/off/...) does not; both to cluster "primary".</summary>
    private static JsonObject Config(UpstreamServer primary, UpstreamServer shadow)
    {
        var config = GatewayConfig.SingleCluster("primary", ("p", primary.Url));
        config["ReverseProxy"]!["Routes"]!.AsObject().Remove("all");
        return config
            .Set("ReverseProxy:Routes:on:ClusterId", "primary").Set("ReverseProxy:Routes:on:Match:Path", "/on/{**rest}")
            .Set("ReverseProxy:Routes:on:Mirror", new JsonObject { ["ClusterId"] = "shadow", ["Percent"] = 100, ["MaxBodyBytes"] = MaxBodyBytes, ["MaxConcurrent"] = 50 })
            .Set("ReverseProxy:Routes:off:ClusterId", "primary").Set("ReverseProxy:Routes:off:Match:Path", "/off/{**rest}")
            .Set("ReverseProxy:Clusters:shadow:Destinations:s:Address", shadow.Url);
    }

    [Fact]
    public async Task ShadowAnswering500_ReceivesEveryBodyIntact_MarkedAsACopy_AndTheClientSeesThePrimary()
    {
        var received = new ConcurrentDictionary<string, string>();
        await using var primary = await UpstreamServer.StartAsync("primary", handler: Echo("primary", received: null));
        await using var shadow = await UpstreamServer.StartAsync("shadow", handler: Echo("shadow", received, status: 500));
        await using var gateway = await GatewayProcess.StartAsync(Config(primary, shadow).ToJson());
        using var client = gateway.CreateProxyClient();

        var sent = new Dictionary<string, string>();
        for (var i = 0; i < 40; i++)
        {
            var body = RandomNumberGenerator.GetBytes(1 + (i * 797 % MaxBodyBytes));
            var id = $"r{i}";
            sent[id] = Convert.ToHexString(SHA256.HashData(body));
            HttpContent content = i % 4 == 0 ? new StreamContent(new MemoryStream(body)) : new ByteArrayContent(body); // some chunked
            using var response = await client.PostAsync($"{gateway.ProxyUrl}/on/{id}", content);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(sent[id], await response.Content.ReadAsStringAsync()); // the primary's answer, its own copy of the body intact
        }

        await Wait.UntilAsync(() => Task.FromResult(received.Count >= 40), TimeSpan.FromSeconds(30), () => $"40 copies at the shadow, got {received.Count}");
        foreach (var (id, hash) in sent)
        {
            Assert.Equal(hash, received[id]);
        }

        Assert.All(shadow.Requests, r => Assert.Equal("1", r.Headers["X-Gateway-Mirror"]));
        Assert.DoesNotContain(primary.Requests, r => r.Headers.ContainsKey("X-Gateway-Mirror"));

        // A body over MaxBodyBytes is forwarded intact but not mirrored.
        var large = RandomNumberGenerator.GetBytes(MaxBodyBytes + 1);
        using (var response = await client.PostAsync($"{gateway.ProxyUrl}/on/large", new StreamContent(new MemoryStream(large))))
        {
            Assert.Equal(Convert.ToHexString(SHA256.HashData(large)), await response.Content.ReadAsStringAsync());
        }

        using var management = gateway.CreateManagementClient();
        var metrics = await management.GetStringAsync("/metrics");
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("gateway_mirror_requests_total{", StringComparison.Ordinal) && l.Contains("result=\"sent\"", StringComparison.Ordinal) && l.EndsWith(" 40", StringComparison.Ordinal));
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("gateway_mirror_requests_total{", StringComparison.Ordinal) && l.Contains("result=\"body_too_large\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.False(received.ContainsKey("large"));
    }

    [Fact]
    public async Task StalledShadow_NeverSlowsTheClient_ExcessCopiesAreDropped()
    {
        using var stall = new CancellationTokenSource();
        await using var primary = await UpstreamServer.StartAsync("primary", handler: Echo("primary", received: null));
        // Copies held at once: on a slow run some reach the Mirror's Timeout (10 s) and free their places for later ones.
        var holding = 0;
        var most = 0;
        await using var shadow = await UpstreamServer.StartAsync("shadow", handler: async context =>
        {
            var now = Interlocked.Increment(ref holding);
            int seen;
            while ((seen = Volatile.Read(ref most)) < now && Interlocked.CompareExchange(ref most, now, seen) != seen)
            {
            }

            try
            {
                await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(stall.Token, context.RequestAborted).Token);
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                Interlocked.Decrement(ref holding);
            }
        });
        await using var gateway = await GatewayProcess.StartAsync(Config(primary, shadow).ToJson());
        using var client = gateway.CreateProxyClient();

        // Warm both routes, then interleave them so machine noise hits both alike.
        for (var i = 0; i < 50; i++)
        {
            await SendAsync(client, gateway, "on", i);
            await SendAsync(client, gateway, "off", i);
        }

        var on = new List<double>();
        var off = new List<double>();
        for (var i = 0; i < 400; i++)
        {
            on.Add(await SendAsync(client, gateway, "on", i));
            off.Add(await SendAsync(client, gateway, "off", i));
        }

        var p99On = Percentile(on, 0.99);
        var p99Off = Percentile(off, 0.99);
        output.WriteLine($"p99 mirroring on {p99On:F2} ms, off {p99Off:F2} ms; p50 {Percentile(on, 0.5):F2} / {Percentile(off, 0.5):F2} ms");
        // 10%, with a 5 ms floor: a sub-millisecond p99 moves by more than 10% between identical runs on a shared box.
        Assert.True(p99On <= Math.Max(p99Off * 1.1, p99Off + 5), $"p99 with a stalled shadow {p99On:F2} ms vs {p99Off:F2} ms without mirroring");

        using var management = gateway.CreateManagementClient();
        var metrics = await management.GetStringAsync("/metrics");
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("gateway_mirror_requests_total{", StringComparison.Ordinal) && l.Contains("result=\"dropped\"", StringComparison.Ordinal));
        Assert.True(Volatile.Read(ref most) <= 50, $"the shadow held {most} copies at once ({shadow.Requests.Count} in all); MaxConcurrent is 50");
        await stall.CancelAsync();
    }

    private static async Task<double> SendAsync(HttpClient client, GatewayProcess gateway, string route, int i)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await client.PostAsync($"{gateway.ProxyUrl}/{route}/{i}", new ByteArrayContent(new byte[256]));
        await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Ceiling(p * sorted.Count) - 1];
    }

    /// <summary>Answers with the SHA-256 of the body it read; records it by the last path segment when <paramref name="received"/> is given.</summary>
    private static Func<HttpContext, Task> Echo(string name, ConcurrentDictionary<string, string>? received, int status = 200) => async context =>
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var hash = Convert.ToHexString(SHA256.HashData(body.ToArray()));
        received?.TryAdd(context.Request.Path.Value!.Split('/')[^1], hash);
        context.Response.StatusCode = status;
        await context.Response.WriteAsync(hash, context.RequestAborted);
    };
}
