using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.Resilience;
using Microsoft.AspNetCore.Http;

namespace Gateway.FunctionalTests.CircuitBreaker;

public sealed class CircuitBreakerTests(ITestOutputHelper output)
{
    private const int MaxConcurrent = 4;
    private const int MaxPending = 2;
    private const int Beyond = 6;

    [Fact]
    public async Task UpstreamStalled_RequestsBeyondTheLimits_Get503CircuitOpenAtOnce_TheOthersCompleteOnceReleased_AndTheUpstreamNeverSeesMoreThanTheLimit()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var concurrent = 0;
        var most = 0;
        await using var upstream = await UpstreamServer.StartAsync("slow", handler: async context =>
        {
            if (context.Request.Path == "/warm")
            {
                await context.Response.WriteAsync("warm");
                return;
            }

            var now = Interlocked.Increment(ref concurrent);
            int seen;
            while ((seen = Volatile.Read(ref most)) < now && Interlocked.CompareExchange(ref most, now, seen) != seen)
            {
            }

            try
            {
                await release.Task;
            }
            finally
            {
                Interlocked.Decrement(ref concurrent);
            }

            await context.Response.WriteAsync("done");
        });
        var config = ResilienceConfig.Cluster(("slow", upstream.Url))
            .Set("ReverseProxy:Clusters:backend:CircuitBreaker", JsonNode.Parse($$"""{ "MaxConcurrentRequests": {{MaxConcurrent}}, "MaxPendingRequests": {{MaxPending}} }"""));
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient(TimeSpan.FromSeconds(60));
        Assert.Equal(0, await OpenAsync(gateway));
        for (var i = 0; i < 5; i++)
        {
            using var warm = await client.GetAsync("/warm");
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        // The places fill up, then the queue.
        var held = Enumerable.Range(0, MaxConcurrent).Select(_ => client.GetAsync("/slow")).ToList();
        await Wait.UntilAsync(() => Volatile.Read(ref concurrent) == MaxConcurrent, TimeSpan.FromSeconds(30), "the upstream to hold the requests within the limit");
        var queued = Enumerable.Range(0, MaxPending).Select(_ => client.GetAsync("/slow")).ToList();
        await Wait.UntilAsync(async () => await RequestsAsync(gateway, "pending") == MaxPending, TimeSpan.FromSeconds(30), "the gateway to hold the pending requests");

        // One refusal first, so the figures below are the steady state, not the process's first run of that path (JIT).
        using (var first = await client.GetAsync("/slow"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
        }

        // The exporter serves a scrape from its cache for 300 ms.
        await Wait.UntilAsync(async () => await OpenAsync(gateway) == 1, TimeSpan.FromSeconds(10), "gateway_circuit_open_total to count the first refusal");
        var (before1Ms, before10Ms, _) = await RejectionTimesAsync(gateway);

        // Beyond both: answered at once, while every other request is still stalled.
        var clientTimes = new List<double>();
        for (var i = 0; i < Beyond; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await client.GetAsync("/slow");
            var body = await response.Content.ReadAsStringAsync();
            clientTimes.Add(watch.Elapsed.TotalMilliseconds);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("""{"error":"circuit_open"}""", body);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        }

        Assert.All(held.Concat(queued), t => Assert.False(t.IsCompleted, "a request within the limits finished before the upstream was released"));
        Assert.Equal(MaxConcurrent, Volatile.Read(ref concurrent));
        await Wait.UntilAsync(async () => await OpenAsync(gateway) == 1 + Beyond, TimeSpan.FromSeconds(10), "gateway_circuit_open_total to count the refusals");

        // Server-side, from the proxy pipeline's start to the end of the response: the gateway's own histogram.
        var (after1Ms, after10Ms, rejections) = await RejectionTimesAsync(gateway);
        var within1Ms = after1Ms - before1Ms;
        var within10Ms = after10Ms - before10Ms;
        var report = $"{Beyond} requests beyond the limits: server-side {within1Ms} within 1 ms, {within10Ms} within 10 ms; " +
            $"client-side (loopback, each on a new connection) {string.Join(", ", clientTimes.Select(t => $"{t:F1}"))} ms";
        output.WriteLine(report);
        Assert.Equal(1 + Beyond, rejections);
        Assert.True(within10Ms == Beyond, report);
        Assert.All(clientTimes, t => Assert.True(t < 2_000, report));

        release.SetResult();
        foreach (var request in held.Concat(queued))
        {
            using var response = await request;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("done", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(MaxConcurrent, Volatile.Read(ref most));
        Assert.Equal(MaxConcurrent + MaxPending, upstream.Requests.Count(r => r.PathAndQuery == "/slow"));
        await Wait.UntilAsync(async () => await RequestsAsync(gateway, "active") == 0, TimeSpan.FromSeconds(10), "every place to be freed");
        Assert.Equal(1 + Beyond, await OpenAsync(gateway));
    }

    /// <summary>The 5xx responses (only refusals here) within 1 ms and 10 ms, and all of them.</summary>
    private static async Task<(double Within1Ms, double Within10Ms, double Count)> RejectionTimesAsync(GatewayProcess gateway)
    {
        string[] labels = ["route=\"all\"", "status_class=\"5xx\""];
        return (
            await ResilienceConfig.ScrapeAsync(gateway, "gateway_proxy_request_duration_seconds_bucket", [.. labels, "le=\"0.001\""]),
            await ResilienceConfig.ScrapeAsync(gateway, "gateway_proxy_request_duration_seconds_bucket", [.. labels, "le=\"0.01\""]),
            await ResilienceConfig.ScrapeAsync(gateway, "gateway_proxy_request_duration_seconds_count", labels));
    }

    private static Task<double> OpenAsync(GatewayProcess gateway) =>
        ResilienceConfig.ScrapeAsync(gateway, "gateway_circuit_open_total", "cluster=\"backend\"");

    private static Task<double> RequestsAsync(GatewayProcess gateway, string state) =>
        ResilienceConfig.ScrapeAsync(gateway, "gateway_circuit_requests", "cluster=\"backend\"", $"state=\"{state}\"");
}
