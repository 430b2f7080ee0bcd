using System.Text.Json.Nodes;
using Gateway.Configuration;
using Gateway.Foundation;

namespace Gateway.Tests.Configuration;

/// <summary>Unknown keys across the whole composition: every options registration and block knows its keys.</summary>
public sealed class UnknownKeysTests
{
    private static async Task<IReadOnlyList<UnknownKey>> UnknownIn(JsonObject candidate)
    {
        await using var gateway = TestGateway.Start(TestGateway.Config());
        var path = Write(candidate);
        try
        {
            var (errors, unknown) = gateway.Store.ValidateCandidateWithWarnings(GatewayConfigFile.Read(path));
            Assert.Empty(errors);
            return unknown;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string Write(JsonObject config)
    {
        var path = Path.Combine(Path.GetTempPath(), $"gateway-unknown-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    [Fact]
    public async Task EveryShippedSetting_IsKnown()
    {
        // The shipped configs and a key of every kind of Gateway section, including a section two options types share.
        var config = JsonNode.Parse(File.ReadAllText(TestPaths.ShippedConfig))!.AsObject()
            .Set("Gateway:Affinity:ApplicationName", "gw")        // AffinityOptions
            .Set("Gateway:Affinity:DrainResyncInterval", "00:00:10") // DrainOptions, same section
            .Set("Gateway:RateLimiting:Policies:p:Algorithm", "FixedWindow")
            .Set("Gateway:RateLimiting:Policies:p:PermitLimit", 5)
            .Set("Gateway:RateLimiting:Policies:p:Window", "00:01:00")
            .Set("Gateway:Configuration:Strict", false)
            .Set("ReverseProxy:Clusters:demo:ConnectionPool:MaxConnectionsPerServer", 8)
            .Set("ReverseProxy:Clusters:demo:Retry:MaxAttempts", 2)
            .Set("ReverseProxy:Clusters:demo:Retry:MinRetriesPerSecond", 10)
            .Set("ReverseProxy:Clusters:demo:CircuitBreaker:MaxConcurrentRequests", 100)
            .Set("ReverseProxy:Clusters:demo:CircuitBreaker:MaxPendingRequests", 10)
            .Set("Gateway:CircuitBreaker:Enabled", true);

        Assert.Empty(await UnknownIn(config));
    }

    [Theory]
    [InlineData("Gateway:Affinity:AplicationName", "gw", "Gateway:Affinity:AplicationName", "ApplicationName")]
    [InlineData("Gateway:Limitz:MaxRequestBodySize", "1", "Gateway:Limitz", "Limits")]
    [InlineData("Gateway:RateLimiting:Policies:p:PermitLimt", "5", "Gateway:RateLimiting:Policies:p:PermitLimt", "PermitLimit")]
    [InlineData("ReverseProxy:Clusters:demo:ConnectionPool:IdleTimout", "00:00:10", "ReverseProxy:Clusters:demo:ConnectionPool:IdleTimout", "IdleTimeout")]
    [InlineData("ReverseProxy:Clusters:demo:Retrys:MaxAttempts", "2", "ReverseProxy:Clusters:demo:Retrys", "Retry")]
    [InlineData("ReverseProxy:Clusters:demo:CircuitBreaker:MaxConcurentRequests", "2", "ReverseProxy:Clusters:demo:CircuitBreaker:MaxConcurentRequests", "MaxConcurrentRequests")]
    public async Task Typo_IsReported_WithTheClosestKnownKey(string key, string value, string path, string suggestion)
    {
        var config = JsonNode.Parse(File.ReadAllText(TestPaths.ShippedConfig))!.AsObject().Set(key, value);
        if (key.StartsWith("Gateway:RateLimiting", StringComparison.Ordinal))
        {
            config.Set("Gateway:RateLimiting:Policies:p:Algorithm", "FixedWindow").Set("Gateway:RateLimiting:Policies:p:Window", "00:01:00")
                .Set("Gateway:RateLimiting:Policies:p:PermitLimit", 5);
        }

        var unknown = Assert.Single(await UnknownIn(config));

        Assert.Equal(path, unknown.Path);
        Assert.Equal(suggestion, unknown.Suggestion);
    }
}
