using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.Resilience;
using Microsoft.AspNetCore.Http;

namespace Gateway.FunctionalTests.OutputCaching;

/// <summary>An upstream that numbers its answers (so a cached answer is the same number) and config helpers.</summary>
internal static class OutputCacheTestKit
{
    /// <summary>
    /// Answers "{path and query} #{n} lang={Accept-Language}", n counting every request it served. a path ending in <c>/cookie</c>
    /// also sets a cookie, <c>/private</c> says <c>Cache-Control: private</c>, <c>/missing</c> answers 404.
    /// </summary>
    public static Func<HttpContext, Task> Numbered()
    {
        var served = 0;
        return async context =>
        {
            var n = Interlocked.Increment(ref served);
            var path = context.Request.Path.Value ?? string.Empty;
            if (path.EndsWith("/cookie", StringComparison.Ordinal))
            {
                context.Response.Headers.SetCookie = "session=abc; Path=/";
            }
            else if (path.EndsWith("/private", StringComparison.Ordinal))
            {
                context.Response.Headers.CacheControl = "private, max-age=60";
            }
            else if (path.EndsWith("/missing", StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
            }

            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync($"{path}{context.Request.QueryString} #{n} lang={context.Request.Headers.AcceptLanguage}");
        };
    }

    /// <summary>The catch-all route "all" with the output-cache policy <paramref name="name"/>.</summary>
    public static JsonObject CachedRoute(UpstreamServer upstream, string name, JsonObject policy, RedisServer? redis = null)
    {
        var config = GatewayConfig.SingleCluster(upstream)
            .Set("ReverseProxy:Routes:all:OutputCachePolicy", name)
            .Set($"Gateway:OutputCache:Policies:{name}", policy)
            .Set("Gateway:Configuration:PollInterval", "00:00:00.2");
        if (redis is not null)
        {
            // OperationTimeout raised from 50 ms: on a loaded box a lookup merely scheduled late would count as a miss.
            config.Set("Gateway:Redis:Configuration", redis.ConnectionString).Set("Gateway:Redis:OperationTimeout", "00:00:01");
        }

        return config;
    }

    public static async Task<string> BodyAsync(this HttpClient client, string path, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        configure?.Invoke(request);
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"GET {path}: {(int)response.StatusCode} {body}");
        return body;
    }

    public static Task<double> CountAsync(GatewayProcess gateway, string result) =>
        ResilienceConfig.ScrapeAsync(gateway, "gateway_output_cache_requests_total", "route=\"all\"", $"result=\"{result}\"");
}
