using System.Net;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.FunctionalTests.Resilience;

public sealed class RetryTests(ITestOutputHelper output)
{
    private static Task<double> RetriesAsync(GatewayProcess gateway, string result) =>
        ResilienceConfig.ScrapeAsync(gateway, "gateway_retries_total", "cluster=\"backend\"", $"result=\"{result}\"");

    /// <summary>An upstream that reads the whole request body, then drops the connection without answering.</summary>
    private static Task<UpstreamServer> StartBodyEaterAsync(string name) =>
        UpstreamServer.StartAsync(name, handler: async context =>
        {
            var buffer = new byte[8192];
            while (await context.Request.Body.ReadAsync(buffer) > 0)
            {
            }

            context.Abort();
        });

    [Fact]
    public async Task Post_WhoseBodyWasSent_IsNeverRetried_ButAGetIs()
    {
        await using var a = await StartBodyEaterAsync("a");
        await using var b = await StartBodyEaterAsync("b");
        await using var c = await StartBodyEaterAsync("c");
        UpstreamServer[] all = [a, b, c];
        // A generous budget and no passive ejection: only the method decides whether a retry happens.
        var config = ResilienceConfig.Cluster(("a", a.Url), ("b", b.Url), ("c", c.Url))
            .WithRetry(enabled: true, maxAttempts: 2, budgetPercent: 100)
            .WithoutPassiveHealth();
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        for (var i = 0; i < 3; i++)
        {
            using var post = await client.PostAsync("/orders", new StringContent(new string('x', 4096)));
            Assert.Equal(HttpStatusCode.BadGateway, post.StatusCode);
            Assert.Equal("""{"error":"upstream_unavailable"}""", await post.Content.ReadAsStringAsync());
            // The gateway answered, so any retry would already have reached an upstream.
            Assert.Equal(i + 1, all.Sum(u => u.Requests.Count(r => r.Method == "POST")));
        }

        // Control: the same failure on a GET without a body is retried once, on another destination.
        using var get = await client.GetAsync("/orders/1");
        Assert.Equal(HttpStatusCode.BadGateway, get.StatusCode);
        var gets = all.Select(u => u.Requests.Count(r => r.Method == "GET")).ToArray();
        Assert.Equal(2, gets.Sum());
        Assert.DoesNotContain(2, gets);
        Assert.Equal(1, await RetriesAsync(gateway, "attempted"));
    }

    [Fact]
    public async Task Post_WhenTheConnectIsRefused_IsRetriedOnAnotherDestination_WithItsBody()
    {
        await using var live = await UpstreamServer.StartAsync("live");
        var closedPort = Ports.GetFree();
        var config = ResilienceConfig.Cluster(("dead", $"http://127.0.0.1:{closedPort}"), ("live", live.Url))
            .WithRetry(enabled: true, maxAttempts: 2, budgetPercent: 100)
            .WithoutPassiveHealth();
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        for (var i = 0; i < 4; i++)
        {
            using var response = await client.PostAsync("/orders", new StringContent($"order-{i}-" + new string('x', 1000)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(4, live.Requests.Count);
        Assert.All(live.Requests, r => Assert.Equal(1008, r.BodyLength));
        // Round robin sent one to the closed port, whose refused connect took it out of rotation (passive health off or not).
        Assert.Equal(1, await RetriesAsync(gateway, "succeeded"));
    }

    [Fact]
    public async Task Retries_Disabled_LeaveConnectFailuresToTheClient()
    {
        await using var live = await UpstreamServer.StartAsync("live");
        var config = ResilienceConfig.Cluster(("dead", $"http://127.0.0.1:{Ports.GetFree()}"), ("live", live.Url))
            .WithRetry(enabled: false)
            .WithoutPassiveHealth();
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await client.GetAsync("/");
            statuses.Add(response.StatusCode);
        }

        // The first refused connect reaches the client, and takes the destination out of rotation (passive health off or not).
        Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.BadGateway));
        Assert.Equal(3, live.Requests.Count);
    }

    /// <summary>
    /// With every destination failing, upstreams see at most (1 + BudgetPercent/100) x the requests plus
    /// MinRetriesPerSecond for every second of the run and one second's worth banked (docs/resilience.md).
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    public async Task RetryBudget_WithEveryDestinationFailing_BoundsUpstreamAttempts(int minRetriesPerSecond)
    {
        await using var a = new ResettingListener();
        await using var b = new ResettingListener();
        await using var c = new ResettingListener();
        ResettingListener[] all = [a, b, c];
        const int requests = 200;
        const int budgetPercent = 10;
        var config = ResilienceConfig.Cluster(("a", a.Url), ("b", b.Url), ("c", c.Url))
            .WithRetry(enabled: true, maxAttempts: 2, budgetPercent: budgetPercent, minRetriesPerSecond: minRetriesPerSecond)
            .WithoutPassiveHealth();
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        var failed = 0;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, requests), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (_, _) =>
        {
            using var response = await client.GetAsync("/");
            if (response.StatusCode == HttpStatusCode.BadGateway)
            {
                Interlocked.Increment(ref failed);
            }
        });
        var seconds = watch.Elapsed.TotalSeconds;

        Assert.Equal(requests, failed);
        // Every attempt was a TCP connection the listeners accepted; the kernel may still hold the last few in the backlog.
        await Wait.UntilAsync(() => all.Sum(l => l.Accepted) >= requests + 1, TimeSpan.FromSeconds(10), "the listeners to see the first attempts and some retries");
        var retryBound = (requests * budgetPercent / 100) + (int)Math.Ceiling(minRetriesPerSecond * (seconds + 1));
        var attempts = all.Sum(l => l.Accepted);
        var retried = await RetriesAsync(gateway, "attempted");
        var refused = await RetriesAsync(gateway, "budget_exhausted");
        output.WriteLine($"{requests} requests in {seconds:F1} s, floor {minRetriesPerSecond}/s: {attempts} upstream connection attempts, {retried} retries (bound {retryBound}), {refused} refused by the budget");
        Assert.InRange(attempts, requests + 1, requests + retryBound);
        Assert.InRange(retried, 1, retryBound);
        Assert.True(refused > 0, "the budget should have refused retries");
    }
}
