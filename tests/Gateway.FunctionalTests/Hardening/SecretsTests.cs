using System.Net;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Hardening;

public sealed class SecretsTests(ITestOutputHelper output)
{
    private const string AdminToken = "Adm1n-T0ken-7c41d9e2b8f3a650";
    private const string RedisPassword = "R3dis-Pa55-e91b7f24c0d8";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AdminTokenAndRedisPassword_NeverAppearInLogs_AdminOutput_OrMetrics()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync("a");
        var config = GatewayConfig.SingleCluster(upstream);
        await using var gateway = await GatewayProcess.StartAsync(config.ToJson(), new Dictionary<string, string>
        {
            ["Gateway__Admin__Token"] = AdminToken,

            // redis-server runs without a password, so AUTH fails: the error paths get exercised too.
            ["Gateway__Redis__Configuration"] = $"127.0.0.1:{redis.Port},password={RedisPassword},abortConnect=false,connectTimeout=1000",
            ["Logging__LogLevel__Default"] = "Debug",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Debug",
            ["Logging__LogLevel__Yarp"] = "Debug",
        });

        var captured = new List<string>();
        using (var admin = gateway.CreateManagementClient(AdminToken))
        {
            foreach (var path in new[] { "/admin/clusters", "/admin/config" })
            {
                using var response = await admin.GetAsync(path);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                captured.Add(await response.Content.ReadAsStringAsync());
            }
        }

        foreach (var bad in new[] { AdminToken + "x", AdminToken[..^1], "wrong" })
        {
            using var wrong = gateway.CreateManagementClient(bad);
            using var response = await wrong.GetAsync("/admin/clusters");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            captured.Add(await response.Content.ReadAsStringAsync());
        }

        using (var proxy = gateway.CreateProxyClient())
        {
            Assert.Equal("a", await proxy.GetStringAsync("/through"));
        }

        // A bad reload: rejected with key-path messages, none of which may echo a secret.
        config.Set("Gateway:Redis:OperationTimeout", "soon").Set("ReverseProxy:Clusters:backend:Destinations:a:Address", "not a url");
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("rejected", Timeout);
        Assert.Contains("Gateway:Redis:OperationTimeout: 'soon'", gateway.Output);

        using (var management = gateway.CreateManagementClient())
        {
            captured.Add(await management.GetStringAsync("/metrics"));
        }

        var logs = gateway.Output;
        output.WriteLine($"{logs.Split('\n').Length} log lines, {captured.Sum(c => c.Length)} chars of admin/metrics output checked");
        Assert.Contains("dbug:", logs);
        foreach (var secret in new[] { AdminToken, RedisPassword })
        {
            Assert.DoesNotContain(secret, logs);
            Assert.All(captured, text => Assert.DoesNotContain(secret, text));
        }
    }
}
