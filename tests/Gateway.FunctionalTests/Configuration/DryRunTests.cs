using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Configuration;

/// <summary>
/// The config dry run (<c>POST /admin/config/validate</c> and <c>Gateway --validate FILE</c>): errors exactly as a
/// reload reports them, and for a valid file the changes the reload then really makes.
/// </summary>
public sealed class DryRunTests
{
    private const string Token = "dry-run-admin-token-0123456789";

    [Fact]
    public async Task EachChangeKind_IsPredicted_AsTheRealReloadThenDoesIt()
    {
        await using var a = await UpstreamServer.StartAsync("a");
        await using var b = await UpstreamServer.StartAsync("b");
        var baseConfig = GatewayConfig.SingleCluster("backend", ("a", a.Url)).Set("Gateway:Configuration:PollInterval", "00:00:00.2");
        await using var gateway = await GatewayProcess.StartAsync(baseConfig.ToJson(), new Dictionary<string, string> { ["Gateway__Admin__Token"] = Token });
        using var proxy = gateway.CreateProxyClient();
        using var admin = gateway.CreateManagementClient(Token);
        Assert.Equal(HttpStatusCode.OK, (await proxy.GetAsync($"{gateway.ProxyUrl}/warm")).StatusCode); // a pool with an open connection

        // Destination only: the pool is kept (its open connection counted), the destination is added.
        var destinationOnly = baseConfig.DeepClone().AsObject().Set("ReverseProxy:Clusters:backend:Destinations:b:Address", b.Url);
        var changes = await DryRunAsync(admin, gateway, destinationOnly);
        Assert.Equal("backend", Single(changes, "pools", "kept")["cluster"]!.GetValue<string>());
        Assert.True(Single(changes, "pools", "kept")["openConnections"]!.GetValue<long>() >= 1);
        Assert.Empty(changes["pools"]!["rebuilt"]!.AsArray());
        Assert.Equal("b", changes["destinations"]!["backend"]!["added"]![0]!.GetValue<string>());
        await ApplyAsync(gateway, destinationOnly);
        Assert.Equal(0, gateway.CountLog("new connection pool #2")); // really kept

        // A pool setting: the pool is rebuilt, and nothing else about routes changes.
        var poolSetting = destinationOnly.DeepClone().AsObject().Set("ReverseProxy:Clusters:backend:ConnectionPool:IdleTimeout", "00:00:30");
        changes = await DryRunAsync(admin, gateway, poolSetting);
        Assert.Equal("backend", Single(changes, "pools", "rebuilt")["cluster"]!.GetValue<string>());
        Assert.Equal("ConnectionPool:IdleTimeout", changes["clusters"]!["changed"]!["backend"]![0]!.GetValue<string>());
        Assert.Empty(changes["routes"]!["changed"]!.AsObject());
        await ApplyAsync(gateway, poolSetting);
        await gateway.WaitForLogAsync("Cluster 'backend': new connection pool #2 (pool settings changed)", TimeSpan.FromSeconds(10));

        // A route added (to a new cluster): both listed as added, the new pool as created.
        var routeAdded = poolSetting.DeepClone().AsObject()
            .Set("ReverseProxy:Routes:other:ClusterId", "other").Set("ReverseProxy:Routes:other:Match:Path", "/other/{**rest}").Set("ReverseProxy:Routes:other:Order", -1)
            .Set("ReverseProxy:Clusters:other:Destinations:b:Address", b.Url)
            .Set("Gateway:Limits:MaxRequestHeaderCount", 50);
        changes = await DryRunAsync(admin, gateway, routeAdded);
        Assert.Equal("other", changes["routes"]!["added"]![0]!.GetValue<string>());
        Assert.Equal("other", changes["clusters"]!["added"]![0]!.GetValue<string>());
        Assert.Equal("other", Single(changes, "pools", "created")["cluster"]!.GetValue<string>());
        Assert.Equal("Gateway:Limits:MaxRequestHeaderCount", changes["settings"]!["needRestart"]![0]!["key"]!.GetValue<string>());
        await ApplyAsync(gateway, routeAdded);
        Assert.Equal("b", (await (await proxy.GetAsync($"{gateway.ProxyUrl}/other/x")).Content.ReadAsStringAsync()));

        // Bad keys: the errors, word for word as the reload then reports them; nothing applied by the dry run.
        var bad = routeAdded.DeepClone().AsObject().Set("ReverseProxy:Routes:other:ClusterId", "missing").Set("Gateway:Shutdown:DrainTimeout", "15s");
        var response = await PostAsync(admin, gateway, bad);
        Assert.False(response["valid"]!.GetValue<bool>());
        var errors = response["errors"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.Equal(2, errors.Count);
        Assert.Null(response["changes"]);
        Assert.Equal("b", (await (await proxy.GetAsync($"{gateway.ProxyUrl}/other/y")).Content.ReadAsStringAsync())); // still serving

        await gateway.WriteConfigAsync(bad.ToJson());
        await gateway.WaitForLogAsync("rejected", TimeSpan.FromSeconds(30));
        Assert.All(errors, e => Assert.Contains(e, gateway.Output, StringComparison.Ordinal));

        // The command line gives the same answers and exit codes, without a running gateway.
        var (badCode, badJson) = await ValidateCommandAsync(bad);
        Assert.Equal(2, badCode);
        Assert.Equal(errors, JsonNode.Parse(badJson)!["errors"]!.AsArray().Select(e => e!.GetValue<string>()).ToList());
        var (goodCode, goodJson) = await ValidateCommandAsync(routeAdded);
        Assert.Equal(0, goodCode);
        Assert.True(JsonNode.Parse(goodJson)!["valid"]!.GetValue<bool>());
    }

    [Fact]
    public async Task DryRun_NeedsTheAdminToken()
    {
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.SingleCluster("backend", ("a", "http://127.0.0.1:1/")).ToJson(),
            new Dictionary<string, string> { ["Gateway__Admin__Token"] = Token });
        using var anonymous = gateway.CreateManagementClient();

        var response = await anonymous.PostAsync($"{gateway.ManagementUrl}/admin/config/validate", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ValidateCommand_HumanReadable_ListsErrorsAndWarnings()
    {
        var config = GatewayConfig.SingleCluster("backend", ("a", "http://127.0.0.1:1/")).Set("Gateway:Shutdown:ReadinesDelay", "00:00:01");

        var (code, text) = await ValidateCommandAsync(config, json: false);

        Assert.Equal(0, code);
        Assert.StartsWith("valid: ", text, StringComparison.Ordinal);
        Assert.Contains("warning: Gateway:Shutdown:ReadinesDelay: unknown key (ignored); did you mean ReadinessDelay?", text, StringComparison.Ordinal);
    }

    private static JsonObject Single(JsonObject changes, string kind, string outcome) =>
        Assert.Single(changes[kind]![outcome]!.AsArray())!.AsObject();

    private static async Task<JsonObject> DryRunAsync(HttpClient admin, GatewayProcess gateway, JsonObject candidate)
    {
        var response = await PostAsync(admin, gateway, candidate);
        Assert.True(response["valid"]!.GetValue<bool>(), response.ToJsonString());
        return response["changes"]!.AsObject();
    }

    private static async Task<JsonObject> PostAsync(HttpClient admin, GatewayProcess gateway, JsonObject candidate)
    {
        var generation = gateway.CountLog("Configuration reloaded");
        using var content = new StringContent(candidate.ToJson(), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        var response = await admin.PostAsync($"{gateway.ManagementUrl}/admin/config/validate", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(generation, gateway.CountLog("Configuration reloaded")); // a dry run applies nothing
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static async Task ApplyAsync(GatewayProcess gateway, JsonObject config)
    {
        var reloads = gateway.CountLog("Configuration reloaded");
        await gateway.WriteConfigAsync(config.ToJson());
        await gateway.WaitForLogAsync("Configuration reloaded", TimeSpan.FromSeconds(30), reloads + 1);
    }

    private static async Task<(int ExitCode, string Output)> ValidateCommandAsync(JsonObject config, bool json = true)
    {
        var path = Path.Combine(Path.GetTempPath(), $"gateway-validate-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, config.ToJson());
        try
        {
            var info = TestPaths.GatewayStartInfo();
            info.ArgumentList.Add("--validate");
            info.ArgumentList.Add(path);
            if (json)
            {
                info.ArgumentList.Add("--json");
            }

            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(deadline.Token);
            Assert.Equal(string.Empty, await error);
            return (process.ExitCode, (await output).Trim());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
