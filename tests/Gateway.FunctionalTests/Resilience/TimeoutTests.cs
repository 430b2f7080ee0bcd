using System.Diagnostics;
using System.Net;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.FunctionalTests.Resilience;

public sealed class TimeoutTests
{
    [Fact]
    public async Task RouteTimeout_AgainstASlowUpstream_Answers504InAboutTheTimeout_AndThePoolStaysUsable()
    {
        await using var upstream = await UpstreamServer.StartAsync("slow", handler: async context =>
        {
            if (context.Request.Path == "/slow")
            {
                await Task.Delay(TimeSpan.FromSeconds(3), context.RequestAborted);
            }

            await context.Response.WriteAsync("done");
        });
        // One connection per server: if the timed-out request left its connection busy, the next request would wait for it.
        var config = ResilienceConfig.Cluster(("d1", upstream.Url))
            .Set("ReverseProxy:Routes:all:Timeout", "00:00:01")
            .Set("ReverseProxy:Clusters:backend:ConnectionPool:MaxConnectionsPerServer", 1);
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        var watch = Stopwatch.StartNew();
        using var timedOut = await client.GetAsync("/slow");
        var elapsed = watch.Elapsed;
        var body = await timedOut.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.GatewayTimeout, timedOut.StatusCode);
        Assert.InRange(elapsed.TotalSeconds, 0.8, 2.5);
        Assert.Equal("""{"error":"upstream_timeout"}""", body);
        Assert.Equal("application/json", timedOut.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(upstream.Port.ToString(), body);

        watch.Restart();
        using var next = await client.GetAsync("/fast");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal("done", await next.Content.ReadAsStringAsync());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.5), $"the next request took {watch.Elapsed.TotalSeconds:F2} s: the pool's only connection was still held by the timed-out request");
        Assert.Equal(2, upstream.Requests.Count);
        // The timed-out request's connection was closed, not returned to the pool with a response still pending.
        await Wait.UntilAsync(() => upstream.Connections.Count(c => !c.IsOpen) >= 1, TimeSpan.FromSeconds(5), "the timed-out upstream connection to be closed");
        Assert.Equal(2, upstream.ConnectionsAccepted);
    }

    [Fact]
    public async Task ClusterActivityTimeout_Answers504_WithTheSameBody()
    {
        await using var upstream = await UpstreamServer.StartAsync("slow", handler: async context =>
        {
            await Task.Delay(TimeSpan.FromSeconds(3), context.RequestAborted);
            await context.Response.WriteAsync("late");
        });
        var config = ResilienceConfig.Cluster(("d1", upstream.Url))
            .Set("ReverseProxy:Clusters:backend:HttpRequest:ActivityTimeout", "00:00:01");
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        var watch = Stopwatch.StartNew();
        using var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.InRange(watch.Elapsed.TotalSeconds, 0.8, 2.5);
        Assert.Equal("""{"error":"upstream_timeout"}""", await response.Content.ReadAsStringAsync());
    }
}
