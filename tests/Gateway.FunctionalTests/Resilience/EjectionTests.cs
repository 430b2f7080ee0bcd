using System.Net;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Resilience;

public sealed class EjectionTests
{
    [Fact]
    public async Task ConsecutiveTransportFailures_EjectTheDestination_ThenAFailedProbe_EjectsItForTwiceAsLong()
    {
        await using var live = await UpstreamServer.StartAsync("live");
        await using var broken = new ResettingListener(afterRequest: true);
        // Passive only, so only the ejection policy decides; resets after the request was sent (not a refused
        // connect) need 3 in a row.
        var config = ResilienceConfig.Cluster(("live", live.Url), ("broken", broken.Url))
            .WithRetry(enabled: false)
            .Set("ReverseProxy:Clusters:backend:HealthCheck", System.Text.Json.Nodes.JsonNode.Parse("""
                { "Passive": { "Enabled": true, "Policy": "ConsecutiveFailures", "ReactivationPeriod": "00:00:01" } }
                """))
            .Set("ReverseProxy:Clusters:backend:Metadata:PassiveHealth.ConsecutiveFailures", "3");
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        var failed = 0;
        for (var i = 0; i < 6; i++)
        {
            using var response = await client.GetAsync("/");
            failed += response.StatusCode == HttpStatusCode.BadGateway ? 1 : 0;
        }

        // Round robin: requests 2, 4 and 6 went to the broken destination, the third of them ejected it.
        Assert.Equal(3, failed);
        Assert.Equal(3, broken.Accepted);
        await gateway.WaitForLogAsync("destination 'broken' ejected for 00:00:01 after 3 consecutive failures (ejection #1", TimeSpan.FromSeconds(5));
        for (var i = 0; i < 10; i++)
        {
            using var response = await client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(3, broken.Accepted);
        Assert.Equal(1, await ResilienceConfig.ScrapeAsync(gateway, "gateway_ejections_total", "cluster=\"backend\"", "destination=\"broken\""));

        // After the reactivation period it is probed with live traffic; the one failure ejects it again, for 2 s.
        await Wait.UntilAsync(async () =>
        {
            using var response = await client.GetAsync("/");
            return broken.Accepted > 3;
        }, TimeSpan.FromSeconds(10), "the broken destination to be probed after its reactivation period", pollMs: 20);
        await gateway.WaitForLogAsync("destination 'broken' ejected for 00:00:02 after 1 consecutive failures (ejection #2", TimeSpan.FromSeconds(5));
        Assert.Equal(4, broken.Accepted);
        Assert.Equal(2, await ResilienceConfig.ScrapeAsync(gateway, "gateway_ejections_total", "cluster=\"backend\"", "destination=\"broken\""));
    }

    [Fact]
    public async Task ClusterWithoutHealthCheckBlock_GetsPassiveEjection_ByDefault()
    {
        await using var live = await UpstreamServer.StartAsync("live");
        var config = ResilienceConfig.Cluster(("live", live.Url), ("dead", $"http://127.0.0.1:{Ports.GetFree()}"))
            .WithRetry(enabled: false);
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            using var response = await client.GetAsync("/");
            statuses.Add(response.StatusCode);
        }

        // The first refused connect ejects the dead destination (for the default 10 s): one failure, then only the live one.
        Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.BadGateway));
        Assert.Equal(9, live.Requests.Count);
        await gateway.WaitForLogAsync("destination 'dead' ejected for 00:00:10 after 1 consecutive failures", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task EveryDestinationEjected_FallsBackToAllOfThem_InsteadOf503()
    {
        var port = Ports.GetFree();
        var config = ResilienceConfig.Cluster(("only", $"http://127.0.0.1:{port}")).WithRetry(enabled: false);
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        using var first = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.BadGateway, first.StatusCode);
        await gateway.WaitForLogAsync("destination 'only' ejected", TimeSpan.FromSeconds(5));

        // The only destination is ejected, yet it comes up: HealthyOrPanic still sends to it rather than answering 503.
        await using var upstream = await UpstreamServer.StartAsync("only", port);
        using var second = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
    }
}
