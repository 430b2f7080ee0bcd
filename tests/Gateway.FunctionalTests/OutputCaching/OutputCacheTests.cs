using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.Resilience;
using static Gateway.FunctionalTests.OutputCaching.OutputCacheTestKit;

namespace Gateway.FunctionalTests.OutputCaching;

public sealed class OutputCacheTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwoReplicasSharingRedis_TheSecondServesWhatTheFirstStored_AndWithRedisKilledRequestsPassThroughUncached()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync("api", handler: Numbered());
        var config = CachedRoute(upstream, "shared", new JsonObject { ["Expire"] = "00:05:00" }, redis).ToJson();
        await using var first = await GatewayProcess.StartAsync(config);
        await using var second = await GatewayProcess.StartAsync(config);
        foreach (var replica in new[] { first, second })
        {
            await replica.WaitForLogAsync("Output cache: Redis store ready", TimeSpan.FromSeconds(30));
        }

        // Entries are keyed by Host too; behind one load balancer both replicas see the same one.
        using var client1 = first.CreateProxyClient();
        using var client2 = second.CreateProxyClient();
        client1.DefaultRequestHeaders.Host = client2.DefaultRequestHeaders.Host = "api.example.test";

        var stored = await client1.BodyAsync("/items");
        Assert.Equal("/items #1 lang=", stored);
        Assert.Equal(stored, await client2.BodyAsync("/items"));
        Assert.Single(upstream.Requests);
        Assert.Equal(1, await CountAsync(second, "hit"));
        Assert.Equal(1, await CountAsync(first, "miss"));
        Assert.Equal(1, await ResilienceConfig.ScrapeAsync(first, "gateway_output_cache_stores_total", "route=\"all\""));

        // The test's own Redis, by its process: an outage, not a clean shutdown.
        await redis.KillAsync();
        var before = upstream.Requests.Count;
        var bodies = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            // Never a 5xx (BodyAsync asserts 200); each answer is fresh from the upstream.
            bodies.Add(await (i % 2 == 0 ? client1 : client2).BodyAsync("/items"));
        }

        Assert.Equal(20, upstream.Requests.Count - before);
        Assert.Equal(20, bodies.Distinct().Count());
        // Every lookup failed fast and was counted (polled: the exporter caches a scrape for 300 ms).
        var errors = 0.0;
        await Wait.UntilAsync(async () =>
        {
            errors = await ResilienceConfig.ScrapeAsync(first, "gateway_output_cache_store_errors_total", "operation=\"get\"")
                + await ResilienceConfig.ScrapeAsync(second, "gateway_output_cache_store_errors_total", "operation=\"get\"");
            return errors >= 20;
        }, TimeSpan.FromSeconds(10), () => $"20 failed lookups counted, saw {errors}");
        Assert.Equal(20, errors);
        output.WriteLine($"Redis down: 20 requests forwarded uncached, {errors} lookups counted as store errors");

        // Redis back (empty): the replicas reconnect by themselves and share entries again.
        await redis.StartProcessAsync();
        await Wait.UntilAsync(async () =>
        {
            var path = $"/after/{Guid.NewGuid():N}";
            var stored = await client1.BodyAsync(path);
            return await client2.BodyAsync(path) == stored;
        }, TimeSpan.FromSeconds(30), "the replicas to share cached entries again after Redis restarted");
    }

    [Fact]
    public async Task WithoutRedis_EntriesAreKeptInMemory_ServedWithAge_AndExpire()
    {
        await using var upstream = await UpstreamServer.StartAsync("api", handler: Numbered());
        await using var gateway = await GatewayProcess.StartAsync(CachedRoute(upstream, "brief", new JsonObject { ["Expire"] = "00:00:02" }).ToJson());
        using var client = gateway.CreateProxyClient();

        var stored = await client.BodyAsync("/items");
        using (var hit = await client.GetAsync("/items"))
        {
            Assert.Equal(stored, await hit.Content.ReadAsStringAsync());
            Assert.True(hit.Headers.Age.HasValue, "a cached answer carries Age");
        }

        Assert.Single(upstream.Requests);

        // Past Expire the entry is gone: the next request goes upstream again.
        await Wait.UntilAsync(async () => await client.BodyAsync("/items") != stored, TimeSpan.FromSeconds(30), "the entry to expire");
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task AuthenticatedRequests_SetCookieResponses_PrivateResponses_And404s_AreNeverStored_UnlessThePolicySaysSo()
    {
        await using var upstream = await UpstreamServer.StartAsync("api", handler: Numbered());
        var config = CachedRoute(upstream, "strict", new JsonObject { ["Expire"] = "00:05:00" })
            .Set("ReverseProxy:Routes:open:ClusterId", "backend")
            .Set("ReverseProxy:Routes:open:Match:Path", "/open/{**rest}")
            .Set("ReverseProxy:Routes:open:OutputCachePolicy", "lenient")
            .Set("Gateway:OutputCache:Policies:lenient", new JsonObject { ["CacheAuthenticated"] = true, ["CacheSetCookie"] = true, ["VaryByHeader"] = new JsonArray("Authorization") });
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        static void Bearer(HttpRequestMessage request) => request.Headers.Authorization = new("Bearer", "token-of-alice");
        foreach (var path in new[] { "/items?auth", "/cookie", "/private", "/missing" })
        {
            Action<HttpRequestMessage>? configure = path == "/items?auth" ? Bearer : null;
            var one = await client.BodyAsync(path, configure);
            var two = await client.BodyAsync(path, configure);
            Assert.NotEqual(one, two); // both answered by the upstream
        }

        // A cookie set by the upstream is forwarded, never replayed to someone else.
        using (var cookie = await client.GetAsync("/cookie"))
        {
            Assert.Contains("session=abc; Path=/", cookie.Headers.GetValues("Set-Cookie"));
        }

        Assert.Equal(2, await CountAsync(gateway, "bypass"));

        // The opt-in: authenticated requests (one entry per token, by VaryByHeader) and Set-Cookie responses are stored.
        var alice = await client.BodyAsync("/open/a", Bearer);
        Assert.Equal(alice, await client.BodyAsync("/open/a", Bearer));
        Assert.NotEqual(alice, await client.BodyAsync("/open/a", r => r.Headers.Authorization = new("Bearer", "token-of-bob")));
        var cookieStored = await client.BodyAsync("/open/cookie");
        Assert.Equal(cookieStored, await client.BodyAsync("/open/cookie"));
    }

    [Fact]
    public async Task VaryByQuery_AndVaryByHeader_TellEntriesApart_AndByDefaultEveryQueryKeyDoes()
    {
        await using var upstream = await UpstreamServer.StartAsync("api", handler: Numbered());
        var config = CachedRoute(upstream, "all-query", new JsonObject { ["Expire"] = "00:05:00" })
            .Set("ReverseProxy:Routes:picky:ClusterId", "backend")
            .Set("ReverseProxy:Routes:picky:Match:Path", "/picky/{**rest}")
            .Set("ReverseProxy:Routes:picky:OutputCachePolicy", "picky")
            .Set("Gateway:OutputCache:Policies:picky", new JsonObject
            {
                ["Expire"] = "00:05:00",
                ["VaryByQuery"] = new JsonArray("id"),
                ["VaryByHeader"] = new JsonArray("Accept-Language"),
            });
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        // Default: every query key.
        var a1 = await client.BodyAsync("/items?a=1");
        Assert.Equal(a1, await client.BodyAsync("/items?a=1"));
        Assert.NotEqual(a1, await client.BodyAsync("/items?a=2"));

        // Only "id" counts; other keys are ignored.
        var id1 = await client.BodyAsync("/picky/x?id=1&junk=a");
        Assert.Equal(id1, await client.BodyAsync("/picky/x?junk=b&id=1"));
        Assert.NotEqual(id1, await client.BodyAsync("/picky/x?id=2"));

        // Accept-Language tells entries apart.
        var german = await client.BodyAsync("/picky/y", r => r.Headers.Add("Accept-Language", "de"));
        Assert.EndsWith("lang=de", german, StringComparison.Ordinal);
        Assert.Equal(german, await client.BodyAsync("/picky/y", r => r.Headers.Add("Accept-Language", "de")));
        var french = await client.BodyAsync("/picky/y", r => r.Headers.Add("Accept-Language", "fr"));
        Assert.EndsWith("lang=fr", french, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUpstreamThatCompresses_NeverHasItsEncodedEntryServedToAClientThatDidNotAccept()
    {
        var served = 0;
        await using var upstream = await UpstreamServer.StartAsync("api", handler: async context =>
        {
            var body = System.Text.Encoding.ASCII.GetBytes($"answer #{Interlocked.Increment(ref served)}");
            context.Response.ContentType = "text/plain";
            context.Response.Headers.Vary = "Accept-Encoding";
            if (context.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.Ordinal))
            {
                using var buffer = new MemoryStream();
                using (var gzip = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
                {
                    gzip.Write(body);
                }

                context.Response.Headers.ContentEncoding = "gzip";
                body = buffer.ToArray();
            }

            await context.Response.Body.WriteAsync(body);
        });
        await using var gateway = await GatewayProcess.StartAsync(CachedRoute(upstream, "p", new JsonObject { ["Expire"] = "00:05:00" }).ToJson());
        using var client = gateway.CreateProxyClient();

        async Task<(string? Encoding, byte[] Body)> GetAsync(string? acceptEncoding)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/items");
            if (acceptEncoding is not null)
            {
                request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
            }

            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (response.Content.Headers.ContentEncoding.FirstOrDefault(), await response.Content.ReadAsByteArrayAsync());
        }

        var gzipped = await GetAsync("gzip, deflate");
        Assert.Equal("gzip", gzipped.Encoding);
        var plain = await GetAsync(null);
        Assert.Null(plain.Encoding);
        Assert.Equal("answer #2", System.Text.Encoding.ASCII.GetString(plain.Body));
        var again = await GetAsync("deflate, gzip");
        Assert.Equal(gzipped.Body, again.Body); // a hit, still gzip for a client that takes it
        Assert.Equal(2, upstream.Requests.Count);
        Assert.Equal("answer #2", System.Text.Encoding.ASCII.GetString((await GetAsync("identity")).Body));
    }

    [Fact]
    public async Task Reload_ChangesAPolicyInPlace_AndRefusesABadValueOrANewNameWithItsKeyPath()
    {
        await using var upstream = await UpstreamServer.StartAsync("api", handler: Numbered());
        var config = CachedRoute(upstream, "p", new JsonObject { ["Expire"] = "00:05:00" });
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();
        var stored = await client.BodyAsync("/items?v=1");
        Assert.NotEqual(stored, await client.BodyAsync("/items?v=2")); // every query key, by default

        // Valid change: vary only by "x"; requests differing in v now share an entry.
        await gateway.WriteConfigAsync(config.Set("Gateway:OutputCache:Policies:p:VaryByQuery", new JsonArray("x")).ToJson());
        await gateway.WaitForLogAsync("Output-cache policy 'p' reloaded", TimeSpan.FromSeconds(30));
        var shared = await client.BodyAsync("/items?v=3&x=9");
        Assert.Equal(shared, await client.BodyAsync("/items?v=4&x=9"));

        // Bad value: refused with its key path, the last good config keeps caching.
        var rejected = gateway.CountLog("rejected");
        await gateway.WriteConfigAsync(config.Set("Gateway:OutputCache:Policies:p:Expire", "soon").ToJson());
        await gateway.WaitForLogAsync("rejected", TimeSpan.FromSeconds(30), rejected + 1);
        Assert.Contains("Gateway:OutputCache:Policies:p:Expire: 'soon'", gateway.Output, StringComparison.Ordinal);
        Assert.Equal(shared, await client.BodyAsync("/items?v=5&x=9"));

        // A new policy name needs a restart: refused, said so.
        config.Set("Gateway:OutputCache:Policies:p:Expire", "00:05:00")
            .Set("Gateway:OutputCache:Policies:later", new JsonObject { ["Expire"] = "00:01:00" })
            .Set("ReverseProxy:Routes:all:OutputCachePolicy", "later");
        rejected = gateway.CountLog("rejected");
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("rejected", TimeSpan.FromSeconds(30), rejected + 1);
        Assert.True(gateway.Output.Contains("ReverseProxy:Routes:all:OutputCachePolicy: 'later' is a policy added after the gateway started", StringComparison.Ordinal), gateway.Output);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/items")).StatusCode);
    }
}
