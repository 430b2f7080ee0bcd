using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.FunctionalTests.Configuration;

/// <summary>
/// Config mistakes never crash: a bad value at start exits 2 naming the key (no stack trace); the same file saved into a
/// running gateway is rejected with the same message while the last good config keeps serving.
/// </summary>
public sealed class ConfigMistakesTests
{
    public static TheoryData<string, string, string, string> BadValues() => new()
    {
        // class, key path, value, expected message fragment
        { "size with units", "Gateway:Limits:MaxRequestBodySize", "10MB", "'10MB' is not a whole number" },
        { "duration with units", "Gateway:Shutdown:DrainTimeout", "15s", "'15s' is not a TimeSpan" },
        { "negative count", "Gateway:Limits:MaxConcurrentConnections", "-5", "'-5'" },
        { "unknown enum", "ReverseProxy:Clusters:backend:HttpRequest:VersionPolicy", "Any", "'Any' is not one of RequestVersionOrLower" },
        { "missing file", "Kestrel:Endpoints:Extra:Certificate:Path", "/nonexistent/tls.crt", "'/nonexistent/tls.crt' does not exist" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task BadValue_AtStart_Exits2WithTheKeyPath_AndOnReload_KeepsTheLastGoodConfig(string kind, string key, string value, string message)
    {
        await using var upstream = await UpstreamServer.StartAsync("a");
        var good = GatewayConfig.SingleCluster(upstream);
        var bad = WithBadValue(GatewayConfig.SingleCluster(upstream), key, value);

        await using (var refused = await GatewayProcess.StartAsync(bad.ToJson(), waitUntilReady: false))
        {
            var exitCode = await refused.WaitForExitAsync(TimeSpan.FromSeconds(60));

            Assert.True(exitCode == 2, $"{kind}: exit code {exitCode}\n{refused.Output}");
            Assert.Contains($"{key}: {message}", refused.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", refused.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", refused.Output, StringComparison.Ordinal);
        }

        await using var gateway = await GatewayProcess.StartAsync(good.ToJson());
        using var client = gateway.CreateProxyClient();
        await gateway.WriteConfigAsync(bad.ToJson());
        await gateway.WaitForLogAsync("rejected", TimeSpan.FromSeconds(30));

        Assert.Contains($"{key}: {message}", gateway.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"{gateway.ProxyUrl}/still-serving")).StatusCode);
        Assert.False(gateway.HasExited);
    }

    [Fact]
    public async Task MisspelledKey_IsWarnedWithTheClosestKey_AtStartAndOnReload_AndRefusedWhenStrict()
    {
        await using var upstream = await UpstreamServer.StartAsync("a");
        var typo = GatewayConfig.SingleCluster(upstream).Set("Gateway:Shutdown:ReadinesDelay", "00:00:01");

        await using (var gateway = await GatewayProcess.StartAsync(typo.ToJson()))
        {
            const string warning = "Gateway:Shutdown:ReadinesDelay: unknown key (ignored); did you mean ReadinessDelay?";
            await gateway.WaitForLogAsync(warning, TimeSpan.FromSeconds(10));

            await gateway.WriteConfigAsync(typo.Set("ReverseProxy:Clusters:backend:HttpRequest:Verison", "2").ToJson());
            await gateway.WaitForLogAsync("did you mean Version?", TimeSpan.FromSeconds(30));
            await gateway.WaitForLogAsync("Configuration reloaded", TimeSpan.FromSeconds(30)); // a warning does not refuse the file
            Assert.Equal(2, gateway.CountLog(warning));
        }

        var strict = typo.Set("Gateway:Configuration:Strict", true);
        await using var refused = await GatewayProcess.StartAsync(strict.ToJson(), waitUntilReady: false);
        Assert.Equal(2, await refused.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Gateway:Shutdown:ReadinesDelay: unknown key (ignored); did you mean ReadinessDelay? (Gateway:Configuration:Strict is true)", refused.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DestinationForDestinations_PointsAtTheStrayKey()
    {
        var config = GatewayConfig.SingleCluster("backend", ("d1", "http://127.0.0.1:1/"));
        var cluster = (JsonObject)config["ReverseProxy"]!["Clusters"]!["backend"]!;
        cluster["Destination"] = cluster["Destinations"]!.DeepClone();
        cluster.Remove("Destinations");

        await using var refused = await GatewayProcess.StartAsync(config.ToJson(), waitUntilReady: false);

        Assert.Equal(2, await refused.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("ReverseProxy:Clusters:backend:Destinations: a cluster needs at least one destination (found ReverseProxy:Clusters:backend:Destination: did you mean Destinations?)", refused.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartedFromRoot_WithAnAbsoluteConfig_AProxiedRequestLogsNothing_AtTheShippedDefaults()
    {
        await using var upstream = await UpstreamServer.StartAsync("a");
        var directory = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        var configPath = Path.Combine(directory, "gateway.json");
        var config = GatewayConfig.SingleCluster(upstream).Set("Gateway:Configuration:PollInterval", "00:00:00.2");
        await File.WriteAllTextAsync(configPath, config.ToJson());
        var proxyPort = Ports.GetFree();
        var managementPort = Ports.GetFree();

        // Not GatewayProcess: it sets test log levels; this must run with nothing but the shipped appsettings.json.
        var info = TestPaths.GatewayStartInfo();
        info.WorkingDirectory = "/";
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(configPath);
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("Logging__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        info.Environment["DOTNET_RUNNING_IN_CONTAINER"] = "false";
        info.Environment["Kestrel__Endpoints__Proxy__Url"] = $"http://127.0.0.1:{proxyPort}";
        info.Environment["Kestrel__Endpoints__Management__Url"] = $"http://127.0.0.1:{managementPort}";
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
            await Wait.UntilAsync(async () => (await client.GetAsync($"http://127.0.0.1:{managementPort}/healthz/ready")).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "the gateway to be ready");
            await Wait.UntilAsync(() => lines.Any(l => l.Contains("Application started", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), "the start-up lines");
            var before = lines.Count;

            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"http://127.0.0.1:{proxyPort}/quiet/{i}")).StatusCode);
            }

            // A reload logs one line: once it is out, anything the requests logged is out too.
            await File.WriteAllTextAsync(configPath, config.Set("ReverseProxy:Routes:all:Order", 1).ToJson());
            await Wait.UntilAsync(() => lines.Any(l => l.Contains("Configuration reloaded", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), "the reload line");

            var logged = lines.Skip(before).Where(l => !l.Contains("Configuration reloaded", StringComparison.Ordinal) && !l.StartsWith("      ", StringComparison.Ordinal)).ToList();
            Assert.True(logged.Count == 0, "proxied requests logged:\n" + string.Join('\n', logged));
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static JsonObject WithBadValue(JsonObject config, string key, string value)
    {
        if (key.StartsWith("Kestrel:Endpoints:Extra:", StringComparison.Ordinal))
        {
            config.Set("Kestrel:Endpoints:Extra:Url", $"https://127.0.0.1:{Ports.GetFree()}").Set("Kestrel:Endpoints:Extra:Certificate:KeyPath", "/nonexistent/tls.key");
        }

        return config.Set(key, value);
    }
}
