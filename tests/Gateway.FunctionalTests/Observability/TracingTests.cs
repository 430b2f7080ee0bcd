using System.Collections.Concurrent;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Observability;

public sealed class TracingTests
{
    private const string ClientTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ClientSpanId = "00f067aa0ba902b7";

    [Theory]
    [InlineData("01")]
    [InlineData("00")]
    public async Task IncomingTraceparent_ReachesTheUpstream_WithTheSameTraceId_TheGatewayAsParent_AndTheCallersSampledFlag(string flags)
    {
        await using var upstream = await UpstreamServer.StartAsync("upstream");
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.SingleCluster(upstream).ToJson());
        using var proxy = gateway.CreateProxyClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/1");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{ClientTraceId}-{ClientSpanId}-{flags}");
        using var response = await proxy.SendAsync(request);
        response.EnsureSuccessStatusCode();

        var traceparent = Assert.Single(upstream.Requests).Headers["traceparent"].Split('-');
        Assert.Equal(4, traceparent.Length);
        Assert.Equal("00", traceparent[0]);
        Assert.Equal(ClientTraceId, traceparent[1]);
        Assert.NotEqual(ClientSpanId, traceparent[2]); // the gateway's own span sits between client and upstream
        Assert.Matches("^[0-9a-f]{16}$", traceparent[2]);
        Assert.Equal(flags, traceparent[3]); // parent-based: the gateway never un-samples (or samples) a caller's trace
    }

    [Fact]
    public async Task RequestWithoutTraceparent_StartsANewUnsampledTrace_ByDefault()
    {
        await using var upstream = await UpstreamServer.StartAsync("upstream");
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.SingleCluster(upstream).ToJson());
        using var proxy = gateway.CreateProxyClient();

        Assert.Equal("upstream", await proxy.GetStringAsync("/x"));

        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-00$", Assert.Single(upstream.Requests).Headers["traceparent"]);
    }

    [Fact]
    public async Task OtlpEndpoint_ReceivesTheGatewaysSpans_ForASampledTrace()
    {
        var exports = new ConcurrentQueue<byte[]>();
        await using var collector = await UpstreamServer.StartAsync("collector");
        collector.Handler = async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            if (context.Request.Path == "/v1/traces")
            {
                exports.Enqueue(body.ToArray());
            }

            context.Response.ContentType = "application/x-protobuf";
        };
        await using var upstream = await UpstreamServer.StartAsync("upstream");
        var env = new Dictionary<string, string>
        {
            ["Gateway__Telemetry__Otlp__Endpoint"] = $"{collector.Url}/v1/traces",
            ["Gateway__Telemetry__Otlp__Protocol"] = "HttpProtobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        };
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.SingleCluster(upstream).ToJson(), env);
        using var proxy = gateway.CreateProxyClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/1");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{ClientTraceId}-{ClientSpanId}-01");
        (await proxy.SendAsync(request)).EnsureSuccessStatusCode();

        var traceId = Convert.FromHexString(ClientTraceId);
        await Wait.UntilAsync(() => exports.Any(body => body.AsSpan().IndexOf(traceId) >= 0), TimeSpan.FromSeconds(30), "an OTLP export carrying the client's trace id");
        Assert.Contains("Exporting traces over OTLP (HttpProtobuf)", gateway.Output);
    }
}
