using System.Net;
using System.Text.Json.Nodes;

using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.FunctionalTests.Configuration;

/// <summary>
/// Every route and cluster key YARP documents either changes behaviour as YARP documents it, or is refused at validation
/// with its key path (the last good config keeps serving). No key yields a 5xx.
/// </summary>
public sealed class YarpKeysTests
{
    private const string Route = "ReverseProxy:Routes:all";
    private const string Cluster = "ReverseProxy:Clusters:backend";

    /// <summary>One row: how it changes the base config, then either the key path it must be refused at, or a check.</summary>
    private sealed record Row(string Name, Action<JsonObject> Change, string? RefusedAt = null, Func<Kit, Task>? Check = null);

    private sealed record Kit(GatewayProcess Gateway, HttpClient Client, UpstreamServer A, UpstreamServer B)
    {
        public string Url(string path) => Gateway.ProxyUrl + path;

        public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, Action<HttpRequestMessage>? configure = null)
        {
            using var request = new HttpRequestMessage(method, Url(path));
            configure?.Invoke(request);
            var response = await Client.SendAsync(request);
            Assert.True((int)response.StatusCode < 500, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return response;
        }

        public async Task<RecordedRequest> ForwardedAsync(UpstreamServer upstream, string path, Action<HttpRequestMessage>? configure = null)
        {
            var response = await SendAsync(HttpMethod.Get, path, configure);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return upstream.Requests.Last(r => r.PathAndQuery == path);
        }

        public async Task StatusAsync(HttpStatusCode expected, string path, Action<HttpRequestMessage>? configure = null, HttpMethod? method = null) =>
            Assert.Equal(expected, (await SendAsync(method ?? HttpMethod.Get, path, configure)).StatusCode);
    }

    private static IEnumerable<Row> Rows()
    {
        // Routes
        yield return new("Order", c => c.Set("ReverseProxy:Routes:first", new JsonObject
        {
            ["ClusterId"] = "backend", ["Order"] = -1, ["Match"] = new JsonObject { ["Path"] = "/{**rest}" },
            ["Transforms"] = new JsonArray(new JsonObject { ["RequestHeader"] = "X-Route", ["Set"] = "first" }),
        }), Check: async k => Assert.Equal("first", (await k.ForwardedAsync(k.A, "/order")).Headers["X-Route"]));
        yield return new("MaxRequestBodySize", c => c.Set($"{Route}:MaxRequestBodySize", 10), Check: k => k.StatusAsync(HttpStatusCode.RequestEntityTooLarge, "/body",
            r => r.Content = new ByteArrayContent(new byte[100]), HttpMethod.Post));
        yield return new("ClusterId", c => c.Set($"{Route}:ClusterId", "other"), Check: async k => await k.ForwardedAsync(k.B, "/to-other"));
        yield return new("ClusterId unknown", c => c.Set($"{Route}:ClusterId", "nope"), RefusedAt: $"{Route}:ClusterId");
        yield return new("AuthorizationPolicy Anonymous", c => c.Set($"{Route}:AuthorizationPolicy", "Anonymous"), Check: async k => await k.ForwardedAsync(k.A, "/anonymous"));
        yield return new("AuthorizationPolicy Default", c => c.Set($"{Route}:AuthorizationPolicy", "Default"), RefusedAt: $"{Route}:AuthorizationPolicy");
        yield return new("AuthorizationPolicy named", c => c.Set($"{Route}:AuthorizationPolicy", "admins"), RefusedAt: $"{Route}:AuthorizationPolicy");
        yield return new("RateLimiterPolicy", c => c.Set($"{Route}:RateLimiterPolicy", "one"), Check: async k =>
        {
            await k.StatusAsync(HttpStatusCode.OK, "/limited");
            await k.StatusAsync(HttpStatusCode.TooManyRequests, "/limited");
        });
        yield return new("RateLimiterPolicy unknown", c => c.Set($"{Route}:RateLimiterPolicy", "nope"), RefusedAt: $"{Route}:RateLimiterPolicy");
        yield return new("OutputCachePolicy", c => c.Set($"{Route}:OutputCachePolicy", "short"), Check: async k =>
        {
            await k.ForwardedAsync(k.A, "/cached");
            await k.StatusAsync(HttpStatusCode.OK, "/cached");
            Assert.Single(k.A.Requests, r => r.PathAndQuery == "/cached"); // the second was served from the cache
        });
        yield return new("OutputCachePolicy unknown", c => c.Set($"{Route}:OutputCachePolicy", "nope"), RefusedAt: $"{Route}:OutputCachePolicy");
        yield return new("TimeoutPolicy unknown", c => c.Set($"{Route}:TimeoutPolicy", "slow"), RefusedAt: Route);
        yield return new("Timeout", c => c.Set($"{Route}:Timeout", "00:00:00.300"), Check: async k =>
        {
            using var response = await k.Client.GetAsync(k.Url("/slow/timeout"));
            Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode); // the documented answer to a fired route timeout
        });
        yield return new("Timeout with units", c => c.Set($"{Route}:Timeout", "300ms"), RefusedAt: $"{Route}:Timeout");
        yield return new("CorsPolicy Disable", c => c.Set($"{Route}:CorsPolicy", "Disable"), Check: async k =>
        {
            var response = await k.SendAsync(HttpMethod.Options, "/cors", r =>
            {
                r.Headers.Add("Origin", "http://localhost:1");
                r.Headers.Add("Access-Control-Request-Method", "GET");
            });
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
            await k.ForwardedAsync(k.A, "/cors-get", r => r.Headers.Add("Origin", "http://localhost:1"));
        });
        yield return new("CorsPolicy Default", c => c.Set($"{Route}:CorsPolicy", "Default"), RefusedAt: $"{Route}:CorsPolicy");
        yield return new("Transforms", c => c.Set($"{Route}:Transforms", new JsonArray(new JsonObject { ["RequestHeader"] = "X-Added", ["Set"] = "yes" })),
            Check: async k => Assert.Equal("yes", (await k.ForwardedAsync(k.A, "/transform")).Headers["X-Added"]));
        yield return new("Transforms unknown", c => c.Set($"{Route}:Transforms", new JsonArray(new JsonObject { ["RequestHeaderz"] = "X-Added" })), RefusedAt: Route);
        yield return new("Match:Path", c => c.Set($"{Route}:Match:Path", "/only/{**rest}"), Check: async k =>
        {
            await k.ForwardedAsync(k.A, "/only/yes");
            await k.StatusAsync(HttpStatusCode.NotFound, "/elsewhere");
        });
        yield return new("Match:Hosts", c => c.Set($"{Route}:Match:Hosts", new JsonArray("api.example.test")), Check: async k =>
        {
            await k.ForwardedAsync(k.A, "/host", r => r.Headers.Host = "api.example.test");
            await k.StatusAsync(HttpStatusCode.NotFound, "/host");
        });
        yield return new("Match:Hosts as a string", c => c.Set($"{Route}:Match:Hosts", "api.example.test"), RefusedAt: $"{Route}:Match:Hosts");
        yield return new("Match:Methods", c => c.Set($"{Route}:Match:Methods", new JsonArray("PUT")), Check: async k =>
        {
            Assert.Equal(HttpStatusCode.OK, (await k.SendAsync(HttpMethod.Put, "/method")).StatusCode);
            var refused = (await k.SendAsync(HttpMethod.Get, "/method")).StatusCode;
            Assert.True(refused is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"GET on a PUT-only route: {refused}");
        });
        yield return new("Match:Headers", c => c.Set($"{Route}:Match:Headers", new JsonArray(new JsonObject { ["Name"] = "X-Env", ["Values"] = new JsonArray("blue"), ["Mode"] = "ExactHeader" })),
            Check: async k =>
            {
                await k.ForwardedAsync(k.A, "/header", r => r.Headers.Add("X-Env", "blue"));
                await k.StatusAsync(HttpStatusCode.NotFound, "/header", r => r.Headers.Add("X-Env", "green"));
            });
        yield return new("Match:Headers:Mode unknown", c => c.Set($"{Route}:Match:Headers", new JsonArray(new JsonObject { ["Name"] = "X-Env", ["Mode"] = "Regex" })),
            RefusedAt: $"{Route}:Match:Headers:0:Mode");
        yield return new("Match:QueryParameters", c => c.Set($"{Route}:Match:QueryParameters", new JsonArray(new JsonObject { ["Name"] = "v", ["Values"] = new JsonArray("2"), ["Mode"] = "Exact" })),
            Check: async k =>
            {
                await k.ForwardedAsync(k.A, "/query?v=2");
                await k.StatusAsync(HttpStatusCode.NotFound, "/query?v=1");
            });
        yield return new("Metadata", c => c.Set($"{Route}:Metadata:team", "payments"), Check: async k => await k.ForwardedAsync(k.A, "/metadata"));

        // Clusters
        yield return new("LoadBalancingPolicy First (the sample's comment; YARP's name is FirstAlphabetical)", c => c.Set($"{Cluster}:LoadBalancingPolicy", "First"),
            RefusedAt: $"{Cluster}:LoadBalancingPolicy");
        yield return new("LoadBalancingPolicy FirstAlphabetical", c => c.Set($"{Cluster}:LoadBalancingPolicy", "FirstAlphabetical").Set($"{Cluster}:Destinations:b:Address", "{B}"), Check: async k =>
        {
            var before = k.A.Requests.Count + k.B.Requests.Count;
            for (var i = 0; i < 6; i++)
            {
                await k.StatusAsync(HttpStatusCode.OK, $"/first/{i}");
            }

            var onA = k.A.Requests.Count(r => r.PathAndQuery.StartsWith("/first/", StringComparison.Ordinal));
            var onB = k.B.Requests.Count(r => r.PathAndQuery.StartsWith("/first/", StringComparison.Ordinal));
            Assert.True(onA == 6 || onB == 6, $"First must send every request to one destination: a={onA} b={onB}");
        });
        yield return new("LoadBalancingPolicy unknown", c => c.Set($"{Cluster}:LoadBalancingPolicy", "Weighted"), RefusedAt: $"{Cluster}:LoadBalancingPolicy");
        yield return new("SessionAffinity", c => c.Set($"{Cluster}:SessionAffinity", new JsonObject { ["Enabled"] = true, ["Policy"] = "Cookie", ["AffinityKeyName"] = "Sticky" }),
            Check: async k =>
            {
                var response = await k.SendAsync(HttpMethod.Get, "/affinity");
                Assert.Contains(response.Headers.GetValues("Set-Cookie"), v => v.StartsWith("Sticky=", StringComparison.Ordinal));
            });
        yield return new("SessionAffinity:Cookie:SameSite unknown", c => c.Set($"{Cluster}:SessionAffinity", new JsonObject
        {
            ["Enabled"] = true, ["AffinityKeyName"] = "Sticky", ["Cookie"] = new JsonObject { ["SameSite"] = "Sometimes" },
        }), RefusedAt: $"{Cluster}:SessionAffinity:Cookie:SameSite");
        yield return new("HealthCheck:Active", c => c.Set($"{Cluster}:HealthCheck:Active", new JsonObject
        {
            ["Enabled"] = true, ["Interval"] = "00:00:01", ["Timeout"] = "00:00:01", ["Path"] = "/probe", ["Query"] = "?from=gateway",
        }), Check: k => Wait.UntilAsync(() => k.A.Requests.Any(r => r.PathAndQuery == "/probe?from=gateway"), TimeSpan.FromSeconds(15), "an active health probe"));
        yield return new("HealthCheck:Passive", c => c.Set($"{Cluster}:HealthCheck:Passive", new JsonObject
        {
            ["Enabled"] = true, ["Policy"] = "TransportFailureRate", ["ReactivationPeriod"] = "00:00:10",
        }), Check: async k => await k.ForwardedAsync(k.A, "/passive"));
        yield return new("HealthCheck:Passive:Policy unknown", c => c.Set($"{Cluster}:HealthCheck:Passive", new JsonObject { ["Enabled"] = true, ["Policy"] = "Vibes" }),
            RefusedAt: $"{Cluster}:HealthCheck:Passive:Policy");
        yield return new("HealthCheck:AvailableDestinationsPolicy", c => c.Set($"{Cluster}:HealthCheck:AvailableDestinationsPolicy", "HealthyOrPanic"),
            Check: async k => await k.ForwardedAsync(k.A, "/available"));
        yield return new("HealthCheck:AvailableDestinationsPolicy unknown", c => c.Set($"{Cluster}:HealthCheck:AvailableDestinationsPolicy", "Sometimes"), RefusedAt: Cluster);
        yield return new("HttpClient:MaxConnectionsPerServer", c => c.Set($"{Cluster}:HttpClient:MaxConnectionsPerServer", 1), Check: async k =>
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => k.Client.GetAsync(k.Url($"/slow-ish/{i}"))));
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            var connections = k.A.Requests.Where(r => r.PathAndQuery.StartsWith("/slow-ish/", StringComparison.Ordinal)).Select(r => r.ConnectionId).Distinct().Count();
            Assert.Equal(1, connections);
        });
        yield return new("HttpClient settings without a TLS upstream", c => c.Set($"{Cluster}:HttpClient", new JsonObject
        {
            ["SslProtocols"] = new JsonArray("Tls12", "Tls13"), ["DangerousAcceptAnyServerCertificate"] = false, ["EnableMultipleHttp2Connections"] = true,
            ["RequestHeaderEncoding"] = "utf-8", ["ResponseHeaderEncoding"] = "utf-8",
        }), Check: async k => await k.ForwardedAsync(k.A, "/http-client"));
        yield return new("HttpClient:RequestHeaderEncoding unknown", c => c.Set($"{Cluster}:HttpClient:RequestHeaderEncoding", "klingon"), RefusedAt: Cluster);
        yield return new("HttpClient:WebProxy", c => c.Set($"{Cluster}:HttpClient:WebProxy", new JsonObject { ["Address"] = "{B}", ["BypassOnLocal"] = false }),
            Check: async k =>
            {
                // B stands in for the forward proxy: the request reaches it instead of A.
                await k.StatusAsync(HttpStatusCode.OK, "/via-proxy");
                Assert.Contains(k.B.Requests, r => r.PathAndQuery == "/via-proxy");
                Assert.DoesNotContain(k.A.Requests, r => r.PathAndQuery == "/via-proxy");
            });
        yield return new("HttpRequest:ActivityTimeout", c => c.Set($"{Cluster}:HttpRequest:ActivityTimeout", "00:00:00.300"), Check: async k =>
        {
            using var response = await k.Client.GetAsync(k.Url("/slow/activity"));
            Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        });
        yield return new("HttpRequest:Version 1.0", c => c.Set($"{Cluster}:HttpRequest", new JsonObject { ["Version"] = "1.0", ["VersionPolicy"] = "RequestVersionExact" }),
            Check: async k => Assert.Equal("HTTP/1.0", (await k.ForwardedAsync(k.A, "/http10")).Protocol));
        yield return new("HttpRequest:Version 2 (YARP's form)", c => c.Set($"{Cluster}:HttpRequest", new JsonObject { ["Version"] = "2", ["VersionPolicy"] = "RequestVersionOrLower" }),
            Check: async k => await k.ForwardedAsync(k.A, "/http2-or-lower"));
        yield return new("HttpRequest:VersionPolicy unknown", c => c.Set($"{Cluster}:HttpRequest:VersionPolicy", "Any"), RefusedAt: $"{Cluster}:HttpRequest:VersionPolicy");
        yield return new("HttpRequest:AllowResponseBuffering", c => c.Set($"{Cluster}:HttpRequest:AllowResponseBuffering", false), Check: async k => await k.ForwardedAsync(k.A, "/buffering"));
        yield return new("Destinations:Host", c => c.Set($"{Cluster}:Destinations:a:Host", "contoso.test"),
            Check: async k => Assert.Equal("contoso.test", (await k.ForwardedAsync(k.A, "/destination-host")).Headers["Host"]));
        yield return new("Destinations:Health and Metadata", c => c.Set($"{Cluster}:Destinations:a:Health", "{A}").Set($"{Cluster}:Destinations:a:Metadata:zone", "b"),
            Check: async k => await k.ForwardedAsync(k.A, "/destination-meta"));
        yield return new("Destinations:Address bad", c => c.Set($"{Cluster}:Destinations:a:Address", "127.0.0.1:80"), RefusedAt: $"{Cluster}:Destinations:a:Address");
        yield return new("Metadata (cluster)", c => c.Set($"{Cluster}:Metadata:owner", "team-a"), Check: async k => await k.ForwardedAsync(k.A, "/cluster-metadata"));
    }

    [Fact]
    public async Task EveryYarpKey_ChangesBehaviourAsDocumented_OrIsRefusedWithItsKeyPath()
    {
        await using var a = await UpstreamServer.StartAsync("a", handler: Respond("a"));
        await using var b = await UpstreamServer.StartAsync("b", handler: Respond("b"));
        await using var gateway = await GatewayProcess.StartAsync(Base(a, b, "start").ToJson());
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(30));
        var kit = new Kit(gateway, client, a, b);
        var failures = new List<string>();

        foreach (var row in Rows())
        {
            var config = Base(a, b, row.Name);
            row.Change(config);
            var json = config.ToJson().Replace("{A}", a.Url, StringComparison.Ordinal).Replace("{B}", b.Url, StringComparison.Ordinal);
            var settled = gateway.CountLog("Configuration reloaded") + gateway.CountLog("rejected");
            var outputBefore = gateway.OutputLines.Count;
            await gateway.WriteConfigAsync(json);
            await Wait.UntilAsync(() => gateway.CountLog("Configuration reloaded") + gateway.CountLog("rejected") > settled, TimeSpan.FromSeconds(30), $"row '{row.Name}' to be applied or rejected");
            var said = string.Join('\n', gateway.OutputLines.Skip(outputBefore));

            try
            {
                if (row.RefusedAt is { } path)
                {
                    Assert.True(said.Contains("rejected", StringComparison.Ordinal), $"expected a rejection naming {path}, got:\n{said}");
                    Assert.Contains(path + ":", said, StringComparison.Ordinal);
                    await kit.SendAsync(HttpMethod.Get, $"/last-good/{Uri.EscapeDataString(row.Name)}"); // the last good config keeps serving (never a 5xx)
                }
                else
                {
                    Assert.True(!said.Contains("rejected", StringComparison.Ordinal), $"expected the config to apply, got:\n{said}");
                    await row.Check!(kit);
                }
            }
            catch (Exception ex)
            {
                failures.Add($"{row.Name}: {ex.Message}");
            }

            Assert.False(gateway.HasExited, gateway.Output);
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>A catch-all route to cluster <c>backend</c> (destination a), a second cluster <c>other</c> (b), a one-request rate-limit policy, an output-cache policy.</summary>
    private static JsonObject Base(UpstreamServer a, UpstreamServer b, string row)
    {
        var config = GatewayConfig.SingleCluster("backend", ("a", a.Url));
        config.Set("ReverseProxy:Clusters:other:Destinations:b:Address", b.Url)
            .Set($"{Route}:Metadata:row", row) // every row's file differs from the last, so each is a change
            .Set("Gateway:Configuration:PollInterval", "00:00:00.2")
            .Set("Gateway:RateLimiting:Policies:one", new JsonObject { ["Algorithm"] = "FixedWindow", ["PermitLimit"] = 1, ["Window"] = "00:10:00", ["PartitionBy"] = "Route" })
            .Set("Gateway:OutputCache:Policies:short", new JsonObject { ["Expire"] = "00:10:00" });
        return config;
    }

    private static Func<Microsoft.AspNetCore.Http.HttpContext, Task> Respond(string name) => async context =>
    {
        var path = context.Request.Path.Value ?? string.Empty;
        if (path.StartsWith("/slow/", StringComparison.Ordinal))
        {
            await Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        else if (path.StartsWith("/slow-ish/", StringComparison.Ordinal))
        {
            await Task.Delay(50, context.RequestAborted); // overlaps the concurrent requests, so one connection means a limit
        }

        await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
        context.Response.Headers["X-Upstream"] = name;
        await context.Response.WriteAsync(name, context.RequestAborted);
    };
}
