using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.FunctionalTests.Cors;

/// <summary>
/// CORS as a browser enforces it: a page served from one loopback origin fetches through the gateway on another port.
/// The page writes each fetch's outcome into its DOM and posts the same text back to its own origin for the test.
/// </summary>
public sealed class BrowserCorsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task AllowedOrigin_ReadsResponses_WithAndWithoutCredentials_AsItsPolicySays_ARefusedOriginIsBlockedByTheBrowser_AndNoPreflightReachesTheUpstream()
    {
        await using var upstream = await UpstreamServer.StartAsync("api");
        await using var allowedSite = await PageSite.StartAsync();
        await using var otherSite = await PageSite.StartAsync();
        var config = GatewayConfig.SingleCluster(upstream);
        config.RemovePath("ReverseProxy:Routes:all");
        config.Set("ReverseProxy:Routes:public", JsonNode.Parse("""{ "ClusterId": "backend", "Match": { "Path": "/public/{**rest}" }, "CorsPolicy": "web" }"""));
        config.Set("ReverseProxy:Routes:private", JsonNode.Parse("""{ "ClusterId": "backend", "Match": { "Path": "/private/{**rest}" }, "CorsPolicy": "web-credentials" }"""));
        // A route with CORS and an authorization policy: the preflight (no token) is answered, the 401 is readable.
        config.Set("ReverseProxy:Routes:secure", JsonNode.Parse("""{ "ClusterId": "backend", "Match": { "Path": "/secure/{**rest}" }, "CorsPolicy": "web", "AuthorizationPolicy": "Default" }"""));
        config.Set("Gateway:Authentication:Schemes:idp", JsonNode.Parse("""{ "Authority": "http://127.0.0.1:1", "RequireHttpsMetadata": false, "Audiences": ["api"] }"""));
        config.Set("Gateway:Cors:Policies:web", new JsonObject
        {
            ["AllowedOrigins"] = new JsonArray(allowedSite.Origin),
            ["AllowedMethods"] = new JsonArray("GET", "PUT"),
            ["AllowedHeaders"] = new JsonArray("X-Test"),
            ["ExposedHeaders"] = new JsonArray("X-Upstream"),
            ["MaxAge"] = "00:10:00",
        });
        config.Set("Gateway:Cors:Policies:web-credentials", new JsonObject
        {
            ["AllowedOrigins"] = new JsonArray(allowedSite.Origin),
            ["AllowedMethods"] = new JsonArray("GET", "PUT"),
            ["AllowedHeaders"] = new JsonArray("X-Test"),
            ["AllowCredentials"] = true,
        });
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        try
        {
            var allowed = await allowedSite.RunAsync(gateway.ProxyUrl, PageTimeout);
            output.WriteLine($"{allowedSite.Origin}: {allowed.ToJsonString()}");
            Assert.Equal("ok:200:api:api", (string?)allowed["simple"]);              // exposed header readable
            Assert.Equal("ok:200:api:api", (string?)allowed["preflighted"]);        // PUT + X-Test: preflight answered by the gateway
            Assert.StartsWith("blocked", (string?)allowed["credentials-refused"], StringComparison.Ordinal); // policy without AllowCredentials
            Assert.Equal("ok:200:api:", (string?)allowed["credentials-allowed"]);  // no ExposedHeaders in this policy
            Assert.Equal("ok:200:api:", (string?)allowed["preflighted-credentials-allowed"]);
            Assert.Equal("""ok:401:{"error":"unauthorized"}:""", (string?)allowed["unauthorized"]);
            Assert.Equal("""ok:401:{"error":"unauthorized"}:""", (string?)allowed["preflighted-unauthorized"]);

            var refused = await otherSite.RunAsync(gateway.ProxyUrl, PageTimeout);
            output.WriteLine($"{otherSite.Origin}: {refused.ToJsonString()}");
            foreach (var (name, value) in refused)
            {
                Assert.True(((string?)value)?.StartsWith("blocked", StringComparison.Ordinal) == true, $"{otherSite.Origin} {name}: {value}");
            }

            var seen = upstream.Requests.ToList();
            output.WriteLine(string.Join('\n', seen.Select(r => $"{r.Method} {r.PathAndQuery} Origin={r.Headers.GetValueOrDefault("Origin")}")));
            Assert.DoesNotContain(seen, r => r.Method == "OPTIONS");
            // Only the allowed origin's preflighted PUTs were sent; the refused origin's never left the browser.
            Assert.Equal(2, seen.Count(r => r.Method == "PUT"));
            Assert.DoesNotContain(seen, r => r.Method == "PUT" && r.Headers.GetValueOrDefault("Origin") == otherSite.Origin);
        }
        catch
        {
            output.WriteLine(gateway.Output);
            throw;
        }
    }

    /// <summary>A loopback site serving the test page, and receiving its report.</summary>
    private sealed class PageSite : IAsyncDisposable
    {
        private const string Page = """
            <!doctype html>
            <html><body><pre id="result">pending</pre>
            <script>
            const target = new URLSearchParams(location.search).get('target');
            const cases = [
              ['simple', '/public/simple', {}],
              ['preflighted', '/public/put', { method: 'PUT', headers: { 'X-Test': '1' }, body: 'x' }],
              ['credentials-refused', '/public/credentials', { credentials: 'include' }],
              ['credentials-allowed', '/private/credentials', { credentials: 'include' }],
              ['preflighted-credentials-allowed', '/private/put', { method: 'PUT', headers: { 'X-Test': '1' }, body: 'x', credentials: 'include' }],
              ['unauthorized', '/secure/get', {}],
              ['preflighted-unauthorized', '/secure/put', { method: 'PUT', headers: { 'X-Test': '1' }, body: 'x' }],
            ];
            (async () => {
              const results = {};
              for (const [name, path, init] of cases) {
                try {
                  const response = await fetch(target + path, init);
                  results[name] = 'ok:' + response.status + ':' + await response.text() + ':' + (response.headers.get('X-Upstream') ?? '');
                } catch (e) {
                  results[name] = 'blocked:' + e.name;
                }
              }
              const text = JSON.stringify(results);
              document.getElementById('result').textContent = text;
              await fetch('/report', { method: 'POST', body: text });
            })();
            </script></body></html>
            """;

        private readonly WebApplication _app;
        private readonly TaskCompletionSource<string> _report = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private PageSite(WebApplication app) => _app = app;

        public string Origin { get; private set; } = "";

        public static async Task<PageSite> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Configuration.Sources.Clear();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
            var app = builder.Build();
            var site = new PageSite(app);
            app.MapGet("/page", () => Results.Content(Page, "text/html"));
            app.MapPost("/report", async (HttpContext context) =>
            {
                using var reader = new StreamReader(context.Request.Body);
                site._report.TrySetResult(await reader.ReadToEndAsync());
                return Results.Ok();
            });
            await app.StartAsync();
            site.Origin = $"http://127.0.0.1:{new Uri(app.Urls.First()).Port}";
            return site;
        }

        /// <summary>Opens the page in a headless Chromium and returns its results once it reports them.</summary>
        public async Task<JsonObject> RunAsync(string gatewayUrl, TimeSpan timeout)
        {
            using var browser = HeadlessChromium.Open($"{Origin}/page?target={Uri.EscapeDataString(gatewayUrl)}");
            var deadline = DateTime.UtcNow + timeout;
            while (!_report.Task.IsCompleted)
            {
                if (browser.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"the page at {Origin} did not report within {timeout} (browser {(browser.HasExited ? "exited" : "still running")}); its output:\n{browser.Output}");
                }

                await Task.WhenAny(_report.Task, Task.Delay(250));
            }

            return JsonNode.Parse(await _report.Task)!.AsObject();
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
