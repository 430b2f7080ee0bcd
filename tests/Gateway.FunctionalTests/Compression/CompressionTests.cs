using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.FunctionalTests.Compression;

public sealed class CompressionTests
{
    /// <summary>
    /// <c>/json/{n}</c>: n bytes of JSON with a Content-Length; <c>/chunked</c>: 4 KiB of JSON without one; <c>/png</c>:
    /// 4 KiB of image/png; <c>/pre-gzipped</c>: JSON the upstream gzipped itself (Content-Encoding: gzip).
    /// </summary>
    private static async Task Respond(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        if (path.StartsWith("/json/", StringComparison.Ordinal) || path.StartsWith("/cached/json/", StringComparison.Ordinal))
        {
            var body = Json(int.Parse(path[(path.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            context.Response.ContentType = "application/json; charset=utf-8";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body);
        }
        else if (path == "/chunked")
        {
            var body = Json(4096);
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(body.AsMemory(0, 100));
            await context.Response.Body.FlushAsync();
            await context.Response.Body.WriteAsync(body.AsMemory(100));
        }
        else if (path == "/png")
        {
            context.Response.ContentType = "image/png";
            await context.Response.Body.WriteAsync(Json(4096));
        }
        else if (path == "/pre-gzipped")
        {
            var body = Gzip(Json(4096));
            context.Response.ContentType = "application/json";
            context.Response.Headers.ContentEncoding = "gzip";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body);
        }
        else
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
        }
    }

    /// <summary>n bytes of repetitive JSON (compresses well).</summary>
    private static byte[] Json(int n)
    {
        var text = new StringBuilder("[");
        while (text.Length < n - 1)
        {
            text.Append("{\"id\":1},");
        }

        var bytes = Encoding.ASCII.GetBytes(text.ToString(0, n - 1) + "]");
        return bytes;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return buffer.ToArray();
    }

    private static byte[] Decode(string? encoding, byte[] body)
    {
        using Stream decoder = encoding switch
        {
            "br" => new BrotliStream(new MemoryStream(body), CompressionMode.Decompress),
            "gzip" => new GZipStream(new MemoryStream(body), CompressionMode.Decompress),
            _ => new MemoryStream(body),
        };
        using var plain = new MemoryStream();
        decoder.CopyTo(plain);
        return plain.ToArray();
    }

    private sealed record Received(HttpStatusCode Status, string? Encoding, byte[] Body, string Vary);

    private static async Task<Received> GetAsync(HttpClient client, string path, string? acceptEncoding = "br, gzip")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        using var response = await client.SendAsync(request);
        Assert.True((int)response.StatusCode < 500, $"GET {path}: {(int)response.StatusCode}");
        var encoding = response.Content.Headers.ContentEncoding.Count == 0 ? null : string.Join(",", response.Content.Headers.ContentEncoding);
        return new Received(response.StatusCode, encoding, await response.Content.ReadAsByteArrayAsync(), string.Join(",", response.Headers.Vary));
    }

    private static JsonObject Config(UpstreamServer upstream) =>
        GatewayConfig.SingleCluster(upstream).Set("Gateway:Configuration:PollInterval", "00:00:00.2");

    [Fact]
    public async Task Off_ByDefault()
    {
        await using var upstream = await UpstreamServer.StartAsync("api", handler: Respond);
        await using var gateway = await GatewayProcess.StartAsync(Config(upstream).ToJson());
        using var client = gateway.CreateProxyClient();

        var response = await GetAsync(client, "/json/4096");

        Assert.Null(response.Encoding);
        Assert.Equal(Json(4096), response.Body);
    }

    [Fact]
    public async Task Enabled_CompressesListedTypesAboveTheMinimum_WithBrotliOrGzip_ButNeverSmallUnlistedOrAlreadyEncodedResponses()
    {
        await using var upstream = await UpstreamServer.StartAsync("api", handler: Respond);
        var config = Config(upstream).Set("Gateway:Compression", new JsonObject { ["Enabled"] = true, ["MinimumBytes"] = 1024 });
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        var brotli = await GetAsync(client, "/json/4096");
        Assert.Equal("br", brotli.Encoding);
        Assert.True(brotli.Body.Length < 1024, $"{brotli.Body.Length} bytes");
        Assert.Equal(Json(4096), Decode("br", brotli.Body));
        Assert.Contains("Accept-Encoding", brotli.Vary, StringComparison.OrdinalIgnoreCase);

        var gzip = await GetAsync(client, "/json/4096", "gzip");
        Assert.Equal("gzip", gzip.Encoding);
        Assert.Equal(Json(4096), Decode("gzip", gzip.Body));

        var chunked = await GetAsync(client, "/chunked", "gzip");
        Assert.Equal("gzip", chunked.Encoding); // no length to compare with MinimumBytes: compressed
        Assert.Equal(Json(4096), Decode("gzip", chunked.Body));

        var plain = await GetAsync(client, "/json/4096", acceptEncoding: null);
        Assert.Null(plain.Encoding);

        var small = await GetAsync(client, "/json/1000");
        Assert.Null(small.Encoding);
        Assert.Equal(Json(1000), small.Body);

        var png = await GetAsync(client, "/png");
        Assert.Null(png.Encoding);

        // Already gzipped upstream: forwarded byte for byte, encoded once.
        var pre = await GetAsync(client, "/pre-gzipped");
        Assert.Equal("gzip", pre.Encoding);
        Assert.Equal(Gzip(Json(4096)), pre.Body);
    }

    [Fact]
    public async Task PerRoute_TheRouteBlockTurnsItOnOrOff_OverTheDefaults_AndBadValuesAreRefusedWithTheirKeyPath()
    {
        await using var upstream = await UpstreamServer.StartAsync("api", handler: Respond);
        var config = Config(upstream)
            .Set("ReverseProxy:Routes:zipped:ClusterId", "backend")
            .Set("ReverseProxy:Routes:zipped:Match:Path", "/cached/{**rest}")
            .Set("ReverseProxy:Routes:zipped:Compression", new JsonObject { ["Enabled"] = true, ["MimeTypes"] = new JsonArray("application/*"), ["MinimumBytes"] = 0 });
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        Assert.Equal("br", (await GetAsync(client, "/cached/json/200")).Encoding); // this route only, its own minimum and types
        Assert.Null((await GetAsync(client, "/json/4096")).Encoding);

        // Defaults on, the route's block off.
        var generation = gateway.CountLog("Configuration reloaded");
        config.Set("Gateway:Compression:Enabled", true).Set("ReverseProxy:Routes:zipped:Compression:Enabled", false);
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("Configuration reloaded", TimeSpan.FromSeconds(30), generation + 1);
        Assert.Equal("br", (await GetAsync(client, "/json/4096")).Encoding);
        Assert.Null((await GetAsync(client, "/cached/json/4096")).Encoding);

        var rejected = gateway.CountLog("rejected");
        config.Set("ReverseProxy:Routes:zipped:Compression:MinimumBytes", -1).Set("ReverseProxy:Routes:zipped:Compression:Level", "Optimal");
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("rejected", TimeSpan.FromSeconds(30), rejected + 1);
        Assert.Contains("ReverseProxy:Routes:zipped:Compression:MinimumBytes: '-1'", gateway.Output, StringComparison.Ordinal);
        Assert.Contains("ReverseProxy:Routes:zipped:Compression:Level: 'Optimal' applies to every route", gateway.Output, StringComparison.Ordinal);
        Assert.Equal("br", (await GetAsync(client, "/json/4096")).Encoding); // the last good config
    }

    [Fact]
    public async Task WithTheOutputCache_AHitIsCompressedLikeAMiss_AndClientsAcceptingOtherEncodingsHaveTheirOwnEntry()
    {
        await using var upstream = await UpstreamServer.StartAsync("api", handler: Respond);
        var config = Config(upstream)
            .Set("ReverseProxy:Routes:all:OutputCachePolicy", "p")
            .Set("Gateway:OutputCache:Policies:p:Expire", "00:05:00")
            .Set("Gateway:Compression:Enabled", true);
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        // Stored uncompressed (compression sits outside the cache): the hit is compressed again, and decodes.
        var miss = await GetAsync(client, "/json/4096", "gzip, br");
        var hit = await GetAsync(client, "/json/4096", "br, gzip;q=0.9");
        Assert.Single(upstream.Requests);
        Assert.Equal("br", miss.Encoding);
        Assert.Equal(Json(4096), Decode("br", miss.Body));
        Assert.Equal("br", hit.Encoding);
        Assert.Equal(Json(4096), Decode("br", hit.Body));

        var plain = await GetAsync(client, "/json/4096", acceptEncoding: null);
        Assert.Equal(2, upstream.Requests.Count);
        Assert.Null(plain.Encoding);
        Assert.Equal(Json(4096), plain.Body);
    }
}
