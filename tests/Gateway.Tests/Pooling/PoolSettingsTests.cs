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
}
