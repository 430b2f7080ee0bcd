using System.Net;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Affinity;

/// <summary>A replica that starts while Redis is down serves affinity clusters anyway, and converges once Redis is up.</summary>
public sealed class RedisDownAtStartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ReplicaStartedWithRedisDown_ServesAffinityWithZero5xx_ThenSessionsConvergeOnTheSharedRing()
    {
        await using var redis = await RedisServer.StartAsync();
        await redis.KillAsync();
        await using var d1 = await UpstreamServer.StartAsync("d1");
        await using var d2 = await UpstreamServer.StartAsync("d2");
        var config = AffinityKit.Config(d1, d2);
        var env = AffinityKit.Env(redis);

        await using var a = await GatewayProcess.StartAsync(config.ToJson(), env); // ready within the key ring's 10 s wait
        using var clientA = a.CreateProxyClient();

        // Sessions on the local fallback key: issued, honoured, never a 5xx.
        var local = await AffinityKit.SendAsync(clientA, null);
        Assert.Equal(HttpStatusCode.OK, local.Status);
        Assert.NotNull(local.SetCookieValue);
        for (var i = 0; i < 20; i++)
        {
            var again = await AffinityKit.SendAsync(clientA, local.SetCookieValue);
            Assert.Equal(HttpStatusCode.OK, again.Status);
            Assert.Equal(local.Upstream, again.Upstream);
            Assert.Null(again.SetCookieValue);
            var fresh = await AffinityKit.SendAsync(clientA, null);
            Assert.Equal(HttpStatusCode.OK, fresh.Status);
        }

        // Redis comes back: the replica loads the shared ring, and a second replica shares it.
        await redis.StartProcessAsync();
        await a.WaitForLogAsync("Affinity key ring ready", TimeSpan.FromSeconds(60));
        await using var b = await AffinityKit.StartReplicaAsync(config, env);
        using var clientB = b.CreateProxyClient();

        // The local cookie is re-pinned under the shared ring, which the other replica honours.
        var repinned = await AffinityKit.SendAsync(clientA, local.SetCookieValue);
        Assert.Equal(HttpStatusCode.OK, repinned.Status);
        Assert.NotNull(repinned.SetCookieValue);
        for (var i = 0; i < 10; i++)
        {
            var elsewhere = await AffinityKit.SendAsync(i % 2 == 0 ? clientB : clientA, repinned.SetCookieValue);
            Assert.Equal(HttpStatusCode.OK, elsewhere.Status);
            Assert.Equal(repinned.Upstream, elsewhere.Upstream);
            Assert.Null(elsewhere.SetCookieValue);
        }

        output.WriteLine($"local session on {local.Upstream}, re-pinned to {repinned.Upstream}");
    }
}
