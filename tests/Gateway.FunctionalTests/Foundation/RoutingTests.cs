using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Foundation;

public sealed class RoutingTests
{
    [Fact]
    public async Task Requests_AreRoutedByPathAndHost_ToTheRightUpstream()
    {
        await using var api = await UpstreamServer.StartAsync("api");
        await using var shop = await UpstreamServer.StartAsync("shop");
        await using var web = await UpstreamServer.StartAsync("web");
        var config = new JsonObject
        {
            ["ReverseProxy"] = JsonNode.Parse($$"""
            {
              "Routes": {
                "api": { "ClusterId": "api", "Match": { "Path": "/api/{**rest}" } },
                "shop": { "ClusterId": "shop", "Match": { "Hosts": [ "shop.example" ] } },
                "web": { "ClusterId": "web", "Order": 100, "Match": { "Path": "{**catch-all}" } }
              },
              "Clusters": {
                "api": { "Destinations": { "a": { "Address": "{{api.Url}}" } } },
                "shop": { "Destinations": { "s": { "Address": "{{shop.Url}}" } } },
                "web": { "Destinations": { "w": { "Address": "{{web.Url}}" } } }
              }
            }
            """),
        };
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson());
        using var client = gateway.CreateProxyClient();

        Assert.Equal("api", await client.GetStringAsync("/api/orders/1"));
        Assert.Equal("web", await client.GetStringAsync("/index.html"));
        using var hostRequest = new HttpRequestMessage(HttpMethod.Get, "/cart") { Headers = { Host = "shop.example" } };
        using var hostResponse = await client.SendAsync(hostRequest);
        Assert.Equal("shop", await hostResponse.Content.ReadAsStringAsync());

        Assert.Equal("/api/orders/1", Assert.Single(api.Requests).PathAndQuery);
        Assert.Equal("/cart", Assert.Single(shop.Requests).PathAndQuery);
        Assert.Equal("/index.html", Assert.Single(web.Requests).PathAndQuery);
    }

    [Theory]
    [InlineData("/healthz/live")]
    [InlineData("/healthz/ready")]
    [InlineData("/metrics")]
    [InlineData("/admin/clusters")]
    public async Task ManagementPaths_OnTheProxyPort_AreProxiedLikeAnyOtherPath(string path)
    {
        await using var upstream = await UpstreamServer.StartAsync("upstream");
        var env = new Dictionary<string, string> { ["Gateway__Admin__Token"] = "a-long-enough-admin-token" };
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.SingleCluster(upstream).ToJson(), env);
        using var client = gateway.CreateProxyClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", "a-long-enough-admin-token");

        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("upstream", await response.Content.ReadAsStringAsync());
        Assert.Equal(path, Assert.Single(upstream.Requests).PathAndQuery);
    }

    [Theory]
    [InlineData("/healthz/live")]
    [InlineData("/healthz/ready")]
    [InlineData("/metrics")]
    [InlineData("/admin/clusters")]
    public async Task ManagementPaths_OnTheProxyPort_WithoutAMatchingRoute_Are404(string path)
    {
        await using var upstream = await UpstreamServer.StartAsync("upstream");
        var config = GatewayConfig.SingleCluster(upstream).Set("ReverseProxy:Routes:all:Match:Path", "/api/{**rest}");
        var env = new Dictionary<string, string> { ["Gateway__Admin__Token"] = "a-long-enough-admin-token" };
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), env);
        using var client = gateway.CreateProxyClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", "a-long-enough-admin-token");

        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task ManagementPort_ServesHealth_AndNeverProxies()
    {
        await using var upstream = await UpstreamServer.StartAsync("upstream");
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.SingleCluster(upstream).ToJson());
        using var management = gateway.CreateManagementClient();

        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/healthz/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/healthz/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await management.GetAsync("/anything/else")).StatusCode);

        // Host header games do not move a request between listeners.
        using var spoofed = new HttpRequestMessage(HttpMethod.Get, "/api") { Headers = { Host = $"127.0.0.1:{gateway.ProxyPort}" } };
        Assert.Equal(HttpStatusCode.NotFound, (await management.SendAsync(spoofed)).StatusCode);
        Assert.Empty(upstream.Requests);
    }
}
