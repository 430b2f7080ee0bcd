using System.Net;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Affinity;

public sealed class AdminApiSecurityTests
{
    [Fact]
    public async Task NoTokenConfigured_DrainAndClusterEndpointsAreAbsent()
    {
        await using var d1 = await UpstreamServer.StartAsync("d1");
        await using var gateway = await AffinityKit.StartReplicaAsync(AffinityKit.Config(d1), AffinityKit.Env(token: false));
        using var anyToken = gateway.CreateManagementClient(AffinityKit.Token);
        Assert.Equal(HttpStatusCode.NotFound, (await anyToken.GetAsync("/admin/clusters")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anyToken.PostAsync("/admin/clusters/backend/destinations/d1/drain", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anyToken.PostAsync("/admin/clusters/backend/destinations/d1/undrain", null)).StatusCode);
    }

    [Fact]
    public async Task WrongOrMissingToken_Gets401_AndChangesNothing()
    {
        await using var d1 = await UpstreamServer.StartAsync("d1");
        await using var gateway = await AffinityKit.StartReplicaAsync(AffinityKit.Config(d1), AffinityKit.Env());
        foreach (var token in new[] { "wrong-token-wrong-token-wrong", AffinityKit.Token + "x", null })
        {
            using var response = await AffinityKit.AdminPostAsync(gateway, "/admin/clusters/backend/destinations/d1/drain", token);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            using var client = gateway.CreateManagementClient(token);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/admin/clusters")).StatusCode);
        }

        using var management = gateway.CreateManagementClient(AffinityKit.Token);
        Assert.False(await AffinityKit.IsDrainingAsync(management, "d1"));
    }

    [Fact]
    public async Task ProxyPort_DoesNotServeTheAdminApi()
    {
        await using var d1 = await UpstreamServer.StartAsync("d1");
        // Routes only /app/* so anything else on the proxy port is the proxy's own 404.
        var config = AffinityKit.Config(d1).Set("ReverseProxy:Routes:all:Match:Path", "/app/{**rest}");
        await using var gateway = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env());
        using var proxy = gateway.CreateProxyClient();
        proxy.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AffinityKit.Token);

        Assert.Equal(HttpStatusCode.NotFound, (await proxy.PostAsync("/admin/clusters/backend/destinations/d1/drain", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await proxy.GetAsync("/admin/clusters")).StatusCode);

        using var management = gateway.CreateManagementClient(AffinityKit.Token);
        Assert.False(await AffinityKit.IsDrainingAsync(management, "d1"));
        Assert.Empty(d1.Requests); // nor was it forwarded anywhere
    }
}
