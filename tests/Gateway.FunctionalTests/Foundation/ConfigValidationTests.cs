using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Foundation;

public sealed class ConfigValidationTests
{
    public static TheoryData<string, string, string[]> BadConfigs()
    {
        static string With(Action<JsonObject> mutate)
        {
            var config = GatewayConfig.SingleCluster("backend", ("d1", "http://127.0.0.1:1"));
            mutate(config);
            return config.ToJson();
        }

        return new TheoryData<string, string, string[]>
        {
            { "route to a missing cluster", With(c => c.Set("ReverseProxy:Routes:all:ClusterId", "nope")), ["ReverseProxy:Routes:all:ClusterId", "'nope'"] },
            { "cluster with no destinations", With(c => c.Set("ReverseProxy:Clusters:backend:Destinations", new JsonObject())), ["ReverseProxy:Clusters:backend:Destinations", "at least one destination"] },
            { "relative destination address", With(c => c.Set("ReverseProxy:Clusters:backend:Destinations:d1:Address", "backend-svc/api")), ["ReverseProxy:Clusters:backend:Destinations:d1:Address", "'backend-svc/api'"] },
            { "non-http destination address", With(c => c.Set("ReverseProxy:Clusters:backend:Destinations:d1:Address", "ftp://127.0.0.1/")), ["ReverseProxy:Clusters:backend:Destinations:d1:Address", "'ftp://127.0.0.1/'"] },
            { "unparsable TimeSpan", With(c => c.Set("ReverseProxy:Clusters:backend:HttpRequest:ActivityTimeout", "90 seconds")), ["ReverseProxy:Clusters:backend:HttpRequest:ActivityTimeout", "'90 seconds'", "duration"] },
            { "unknown load-balancing policy", With(c => c.Set("ReverseProxy:Clusters:backend:LoadBalancingPolicy", "Fastest")), ["ReverseProxy:Clusters:backend:LoadBalancingPolicy", "'Fastest'", "RoundRobin"] },
            { "duplicate route ids", """{ "ReverseProxy": { "Routes": { "all": { "ClusterId": "b", "Match": { "Path": "/a" } }, "all": { "ClusterId": "b", "Match": { "Path": "/b" } } }, "Clusters": { "b": { "Destinations": { "d": { "Address": "http://127.0.0.1:1" } } } } } }""", ["ReverseProxy:Routes:all", "duplicate"] },
            { "route without path or hosts", With(c => c.RemovePath("ReverseProxy:Routes:all:Match")), ["ReverseProxy:Routes:all"] },
            { "bad pool default", With(c => c.Set("Gateway:ConnectionPool:IdleTimeout", "soon")), ["Gateway:ConnectionPool:IdleTimeout", "'soon'"] },
            { "bad pool cluster override", With(c => c.Set("ReverseProxy:Clusters:backend:ConnectionPool:MaxConnectionsPerServer", 0)), ["ReverseProxy:Clusters:backend:ConnectionPool:MaxConnectionsPerServer", "'0'"] },
            { "not a number", With(c => c.Set("ReverseProxy:Clusters:backend:ConnectionPool:MaxConnectionsPerServer", "many")), ["ReverseProxy:Clusters:backend:ConnectionPool:MaxConnectionsPerServer", "'many'"] },
            { "invalid JSON", """{ "ReverseProxy": { "Routes": { """, ["invalid JSON"] },
        };
    }

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public async Task BadConfig_StopsStart_WithNonZeroExit_AndAKeyPathMessage(string description, string config, string[] expectedInMessage)
    {
        await using var gateway = await GatewayProcess.StartAsync(config, environment: null, waitUntilReady: false);

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exitCode != 0, $"{description}: expected a non-zero exit code");
        var output = gateway.Output;
        Assert.Contains("Gateway configuration is invalid", output);
        foreach (var expected in expectedInMessage)
        {
            Assert.Contains(expected, output);
        }

        Assert.DoesNotContain("Unhandled exception", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task MissingConfigFile_StopsStart_NamingThePath()
    {
        var directory = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        await using var gateway = await GatewayProcess.StartWithConfigFileAsync(
            directory, Path.Combine(directory, "does-not-exist", "gateway.json"), environment: null, waitUntilReady: false);

        Assert.NotEqual(0, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("does-not-exist/gateway.json", gateway.Output);
    }

    [Fact]
    public async Task EnvironmentVariables_OverrideTheFile_AndAreValidatedToo()
    {
        var config = GatewayConfig.SingleCluster("backend", ("d1", "http://127.0.0.1:1")).ToJson();
        var env = new Dictionary<string, string> { ["Gateway__ConnectionPool__ConnectTimeout"] = "-00:00:01" };
        await using var gateway = await GatewayProcess.StartAsync(config, env, waitUntilReady: false);

        Assert.NotEqual(0, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Gateway:ConnectionPool:ConnectTimeout: '-00:00:01'", gateway.Output);
    }
}
