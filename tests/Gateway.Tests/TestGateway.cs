using System.Text.Json.Nodes;
using Gateway.Configuration;
using Gateway.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests;

/// <summary>
/// The gateway's own composition (Program.cs: AddGatewayConfiguration + AddGatewayFeatures) over a config file in a
/// temp directory, built but not started: no listeners, no hosted services, no file watcher. A test reloads by writing
/// the file and calling <see cref="GatewayConfigStore.CheckForChange"/> itself, so nothing runs on a timer.
/// </summary>
internal sealed class TestGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _directory;

    private TestGateway(WebApplication app, string directory, string configPath)
    {
        _app = app;
        _directory = directory;
        ConfigPath = configPath;
    }

    public string ConfigPath { get; }

    public IServiceProvider Services => _app.Services;

    public GatewayConfigStore Store => Services.GetRequiredService<GatewayConfigStore>();

    /// <summary>Builds the gateway over <paramref name="config"/> and applies it as start-up does; <paramref name="time"/> replaces TimeProvider.System.</summary>
    public static TestGateway Start(JsonObject config, TimeProvider? time = null)
    {
        var directory = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        var path = Path.Combine(directory, "gateway.json");
        File.WriteAllText(path, config.ToJsonString());
        string[] args = ["--config", path];
        var builder = WebApplication.CreateBuilder(args);
        builder.AddGatewayConfiguration(args);
        builder.Services.AddGatewayFeatures(builder.Configuration);
        builder.Logging.ClearProviders(); // rejected reloads and Redis outages are expected here; the console is the test runner's
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        var gateway = new TestGateway(builder.Build(), directory, path);
        var errors = gateway.Store.LoadInitial();
        Assert.True(errors.Count == 0, "the initial config must be valid:\n" + string.Join("\n", errors));
        return gateway;
    }

    /// <summary>One catch-all route to one cluster; <paramref name="routeId"/> tells configs apart.</summary>
    public static JsonObject Config(string routeId = "all", string clusterId = "backend") => new()
    {
        ["ReverseProxy"] = new JsonObject
        {
            ["Routes"] = new JsonObject
            {
                [routeId] = new JsonObject { ["ClusterId"] = clusterId, ["Match"] = new JsonObject { ["Path"] = "{**catch-all}" } },
            },
            ["Clusters"] = new JsonObject
            {
                [clusterId] = new JsonObject
                {
                    ["Destinations"] = new JsonObject { ["d1"] = new JsonObject { ["Address"] = "http://127.0.0.1:5101/" } },
                },
            },
        },
    };

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    /// <summary>Replaces the file in one step (write aside, rename over), as an editor or a ConfigMap swap does.</summary>
    public void WriteConfig(string text)
    {
        var aside = Path.Combine(_directory, $".gateway.json.{Guid.NewGuid():N}");
        File.WriteAllText(aside, text);
        File.Move(aside, ConfigPath, overwrite: true);
    }

    public void WriteConfig(JsonObject config) => WriteConfig(config.ToJsonString());

    /// <summary>Writes <paramref name="config"/> and runs the reload the file watcher would; asserts it was applied.</summary>
    public void Reload(JsonObject config)
    {
        var generation = Store.Generation;
        WriteConfig(config);
        Store.CheckForChange();
        Assert.True(Store.Generation == generation + 1, "the reload must be applied");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}

internal static class JsonObjectExtensions
{
    /// <summary>Sets a value by config key path (a:b:c), creating objects on the way; returns the root for chaining.</summary>
    public static JsonObject Set(this JsonObject root, string path, JsonNode? value)
    {
        JsonPath.Set(root, path, value);
        return root;
    }
}
