using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Affinity;

public sealed class FailurePolicyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Redistribute_WhenPinnedServerStops_SessionsMoveToALiveDestinationWithANewCookie()
    {
        await using var d1 = await UpstreamServer.StartAsync("d1");
        await using var d2 = await UpstreamServer.StartAsync("d2");
        await using var d3 = await UpstreamServer.StartAsync("d3");
        var (sessions, a) = await StartWithD1StoppedAsync(failurePolicy: null, d1, d2, d3);
        await using var _ = a;
        using var client = a.CreateProxyClient();
        foreach (var cookie in sessions)
        {
            var moved = await AffinityKit.SendAsync(client, cookie);
            Assert.Equal(HttpStatusCode.OK, moved.Status);
            Assert.Contains(moved.Upstream, new[] { "d2", "d3" });
            Assert.NotNull(moved.SetCookieValue);

            // The new cookie pins the session to its new destination.
            var again = await AffinityKit.SendAsync(client, moved.SetCookieValue);
            Assert.Equal(moved.Upstream, again.Upstream);
            Assert.Null(again.SetCookieValue);
        }

        await AssertOutcomeCountedAsync(a, "redistributed");
    }

    [Fact]
    public async Task Return503Error_WhenPinnedServerStops_SessionsGet503()
    {
        await using var d1 = await UpstreamServer.StartAsync("d1");
        await using var d2 = await UpstreamServer.StartAsync("d2");
        await using var d3 = await UpstreamServer.StartAsync("d3");
        var (sessions, a) = await StartWithD1StoppedAsync(failurePolicy: "Return503Error", d1, d2, d3);
        await using var _ = a;
        using var client = a.CreateProxyClient();
        foreach (var cookie in sessions)
        {
            var response = await AffinityKit.SendAsync(client, cookie);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.Status);
            Assert.Null(response.SetCookieValue);
        }

        // With the gateway's JSON error body, as every refusal of the gateway's own (YARP's policy sends none).
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/"))
        {
            request.Headers.TryAddWithoutValidation("Cookie", $"{AffinityKit.CookieName}={sessions[0]}");
            using var refused = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("application/json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Equal("""{"error":"affinity_destination_unavailable"}""", await refused.Content.ReadAsStringAsync());
        }

        // Requests without affinity are still served by the live destinations.
        var fresh = await AffinityKit.SendAsync(client, null);
        Assert.Equal(HttpStatusCode.OK, fresh.Status);
        await AssertOutcomeCountedAsync(a, "failed");
    }

    private async Task<(List<string> Sessions, GatewayProcess Gateway)> StartWithD1StoppedAsync(string? failurePolicy, UpstreamServer d1, UpstreamServer d2, UpstreamServer d3)
    {
        var config = AffinityKit.Config(d1, d2, d3);
        // YARP's active health checks mark the stopped server unhealthy within a couple of 1 s probes.
        config.Set("ReverseProxy:Clusters:backend:HealthCheck", JsonNode.Parse("""
            { "Active": { "Enabled": true, "Interval": "00:00:01", "Timeout": "00:00:02", "Policy": "ConsecutiveFailures", "Path": "/health" } }
            """));
        if (failurePolicy is not null)
        {
            config.Set("ReverseProxy:Clusters:backend:SessionAffinity:FailurePolicy", failurePolicy);
        }

        var gateway = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env());
        using var client = gateway.CreateProxyClient();
        var sessions = await AffinityKit.PinSessionsAsync("d1", 5, client);

        await d1.KillAsync();
        using var management = gateway.CreateManagementClient(AffinityKit.Token);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Wait.UntilAsync(async () => await AffinityKit.ActiveHealthAsync(management, "d1") == "Unhealthy", AffinityKit.Deadline, "d1 marked unhealthy by active health checks");
        output.WriteLine($"d1 marked unhealthy {watch.ElapsedMilliseconds} ms after its server stopped");
        return (sessions, gateway);
    }

    private static async Task AssertOutcomeCountedAsync(GatewayProcess gateway, string outcome)
    {
        using var management = gateway.CreateManagementClient();
        await Wait.UntilAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(
                await management.GetStringAsync("/metrics"),
                $@"gateway_affinity_outcomes_total\{{[^}}]*outcome=""{outcome}""[^}}]*\}} [1-9]"),
            AffinityKit.Deadline, $"affinity outcome '{outcome}' in /metrics");
    }
}
