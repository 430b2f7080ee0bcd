using System.Text.Json;
using Gateway.Pooling;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Tests.Pooling;

public sealed class PoolSettingsTests
{
    [Fact]
    public void ClusterBlock_WinsOver_YarpHttpClient_WhichWinsOver_Defaults()
    {
        var defaults = new ConnectionPoolOptions { MaxConnectionsPerServer = 100, IdleTimeout = TimeSpan.FromSeconds(30) };
        var yarp = new HttpClientConfig { MaxConnectionsPerServer = 50 };

        Assert.Equal(50, PoolSettings.Resolve(null, defaults, yarp).MaxConnectionsPerServer);
        Assert.Equal(4, PoolSettings.Resolve(new ConnectionPoolOptions { MaxConnectionsPerServer = 4 }, defaults, yarp).MaxConnectionsPerServer);
        Assert.Equal(100, PoolSettings.Resolve(null, defaults, null).MaxConnectionsPerServer);
        Assert.Equal(TimeSpan.FromSeconds(30), PoolSettings.Resolve(null, defaults, null).IdleTimeout);
    }

    [Fact]
    public void BuiltInDefaults_AreDocumentedValues()
    {
        var settings = PoolSettings.Resolve(null, new ConnectionPoolOptions(), null);

        Assert.Equal(int.MaxValue, settings.MaxConnectionsPerServer);
        Assert.Equal(TimeSpan.FromMinutes(1), settings.IdleTimeout);
        Assert.Equal(TimeSpan.FromMinutes(5), settings.Lifetime);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.ConnectTimeout);
        Assert.True(settings.EnableMultipleHttp2Connections);
        Assert.Equal(64, settings.MaxResponseHeadersLength);
    }

    [Fact]
    public void AdminJson_ShowsUnlimitedAndOffAsNull_NotTheirSentinels()
    {
        var builtIn = AdminJson(PoolSettings.Resolve(null, new ConnectionPoolOptions(), null));

        // int.MaxValue and Timeout.InfiniteTimeSpan ("-00:00:00.0010000") are what SocketsHttpHandler takes for them.
        Assert.Equal(JsonValueKind.Null, builtIn.GetProperty("maxConnectionsPerServer").ValueKind);
        Assert.Equal(JsonValueKind.Null, builtIn.GetProperty("keepAlivePingDelay").ValueKind);
        Assert.Equal("00:01:00", builtIn.GetProperty("idleTimeout").GetString());
        Assert.Equal("00:00:20", builtIn.GetProperty("keepAlivePingTimeout").GetString());
        Assert.Equal(64, builtIn.GetProperty("maxResponseHeadersLength").GetInt32());

        var set = AdminJson(PoolSettings.Resolve(
            new ConnectionPoolOptions { MaxConnectionsPerServer = 16, KeepAlivePingDelay = TimeSpan.FromSeconds(30) }, new ConnectionPoolOptions(), null));
        Assert.Equal(16, set.GetProperty("maxConnectionsPerServer").GetInt32());
        Assert.Equal("00:00:30", set.GetProperty("keepAlivePingDelay").GetString());
    }

    [Fact]
    public void AdminJson_HasAFieldForEverySetting()
    {
        var json = AdminJson(PoolSettings.Resolve(null, new ConnectionPoolOptions(), null));
        var fields = json.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

        foreach (var property in typeof(PoolSettings).GetProperties().Where(p => p.DeclaringType == typeof(PoolSettings) && p.GetMethod?.IsStatic == false && p.Name != "EqualityContract"))
        {
            Assert.Contains(JsonNamingPolicy.CamelCase.ConvertName(property.Name), fields);
        }

        Assert.Equal(typeof(PoolSettings).GetConstructors()[0].GetParameters().Length, fields.Count);
    }

    [Fact]
    public void EqualSettings_AreEqualRecords_SoAReloadKeepsThePool()
    {
        var a = PoolSettings.Resolve(new ConnectionPoolOptions { Lifetime = TimeSpan.FromMinutes(2) }, new ConnectionPoolOptions(), null);
        var b = PoolSettings.Resolve(new ConnectionPoolOptions { Lifetime = TimeSpan.FromMinutes(2) }, new ConnectionPoolOptions(), null);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Validation_NamesTheKeyPath()
    {
        var errors = new List<string>();
        ConnectionPoolValidation.Validate(new ConnectionPoolOptions { MaxConnectionsPerServer = 0, IdleTimeout = TimeSpan.Zero }, "ReverseProxy:Clusters:orders:ConnectionPool", errors);

        Assert.Contains("ReverseProxy:Clusters:orders:ConnectionPool:MaxConnectionsPerServer: '0' must be at least 1", errors);
        Assert.Contains("ReverseProxy:Clusters:orders:ConnectionPool:IdleTimeout: '00:00:00' must be greater than 00:00:00", errors);
    }

    private static JsonElement AdminJson(PoolSettings settings) =>
        JsonSerializer.SerializeToElement(settings.ToAdminJson(), new JsonSerializerOptions(JsonSerializerDefaults.Web));
}
