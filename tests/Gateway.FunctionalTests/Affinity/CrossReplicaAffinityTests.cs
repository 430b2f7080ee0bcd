using System.Net;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Affinity;

public sealed class CrossReplicaAffinityTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SharedRedisKeyRing_CookieFromReplicaA_IsHonouredByReplicaB_On50AlternatingRequests()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var d1 = await UpstreamServer.StartAsync("d1");
        await using var d2 = await UpstreamServer.StartAsync("d2");
        await using var d3 = await UpstreamServer.StartAsync("d3");
        var config = AffinityKit.Config(d1, d2, d3);
        await using var a = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env(redis));
        await using var b = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env(redis));
        using var clientA = a.CreateProxyClient();
        using var clientB = b.CreateProxyClient();

        // Without a cookie both replicas spread requests round-robin over all three destinations.
        var spread = new HashSet<string>();
        for (var i = 0; i < 6; i++)
        {
            spread.Add((await AffinityKit.SendAsync(i % 2 == 0 ? clientA : clientB, null)).Upstream!);
        }

        Assert.Equal(3, spread.Count);

        var first = await AffinityKit.SendAsync(clientA, null);
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.NotNull(first.SetCookieValue);
        // Safe defaults: HttpOnly, SameSite=Lax, Secure only over HTTPS (this is plain HTTP), path /.
        var header = first.SetCookieHeader!;
        var attributes = header[header.IndexOf(';')..].ToLowerInvariant();
        Assert.Contains("; httponly", attributes);
        Assert.Contains("; samesite=lax", attributes);
        Assert.Contains("; path=/", attributes);
        Assert.DoesNotContain("secure", attributes);
        output.WriteLine($"pinned to {first.Upstream}; Set-Cookie attributes: {attributes}");

        for (var i = 0; i < 50; i++)
        {
            var response = await AffinityKit.SendAsync(i % 2 == 0 ? clientB : clientA, first.SetCookieValue);
            Assert.Equal(HttpStatusCode.OK, response.Status);
            Assert.True(first.Upstream == response.Upstream, $"request {i} via {(i % 2 == 0 ? "B" : "A")} went to {response.Upstream}, pinned to {first.Upstream}");
            Assert.Null(response.SetCookieValue); // honoured: no re-pin
        }
    }

    [Fact]
    public async Task SeparateLocalKeyRings_CookieFromReplicaA_IsNotHonouredByReplicaB()
    {
        await using var d1 = await UpstreamServer.StartAsync("d1");
        await using var d2 = await UpstreamServer.StartAsync("d2");
        await using var d3 = await UpstreamServer.StartAsync("d3");
        var ringA = Directory.CreateTempSubdirectory("gateway-keyring-a-").FullName;
        var ringB = Directory.CreateTempSubdirectory("gateway-keyring-b-").FullName;
        try
        {
            var config = AffinityKit.Config(d1, d2, d3);
            await using var a = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env(keyRingDirectory: ringA));
            await using var b = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env(keyRingDirectory: ringB));
            Assert.NotEmpty(Directory.GetFiles(ringA, "key-*.xml"));
            using var clientA = a.CreateProxyClient();
            using var clientB = b.CreateProxyClient();

            var first = await AffinityKit.SendAsync(clientA, null);
            Assert.NotNull(first.SetCookieValue);

            var onA = new HashSet<string>();
            var onB = new HashSet<string>();
            var repinnedByB = 0;
            for (var i = 0; i < 50; i++)
            {
                var viaB = i % 2 == 0;
                var response = await AffinityKit.SendAsync(viaB ? clientB : clientA, first.SetCookieValue);
                Assert.Equal(HttpStatusCode.OK, response.Status); // never an error: an unreadable cookie is no cookie
                (viaB ? onB : onA).Add(response.Upstream!);
                if (viaB && response.SetCookieValue is not null)
                {
                    repinnedByB++;
                }
            }

            output.WriteLine($"A served {string.Join(",", onA)}; B served {string.Join(",", onB)}; B re-pinned {repinnedByB}/25");
            Assert.Equal([first.Upstream!], onA);   // A still honours its own cookie
            Assert.Equal(25, repinnedByB);          // B cannot read it: every request gets a fresh pin
            Assert.True(onB.Count > 1, "B should spread the unreadable-cookie requests round-robin");
        }
        finally
        {
            Directory.Delete(ringA, recursive: true);
            Directory.Delete(ringB, recursive: true);
        }
    }
}
