using Gateway.Configuration;
using Microsoft.Extensions.Configuration;

namespace Gateway.Tests.Configuration;

public sealed class ProxyConfigReaderTests
{
    private static (ProxySnapshot Snapshot, List<string> Errors) Read(Dictionary<string, string?> data)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(data).Build();
        var errors = new List<string>();
        return (ProxyConfigReader.Read(config, errors), errors);
    }

    private static Dictionary<string, string?> Valid() => new()
    {
        ["ReverseProxy:Routes:r1:ClusterId"] = "c1",
        ["ReverseProxy:Routes:r1:Match:Path"] = "/api/{**rest}",
        ["ReverseProxy:Clusters:c1:Destinations:d1:Address"] = "http://127.0.0.1:5000/",
    };

    [Fact]
    public void ValidConfig_ReadsRoutesAndClusters_WithIdsFromKeys()
    {
        var (snapshot, errors) = Read(Valid());

        Assert.Empty(errors);
        Assert.Equal("r1", Assert.Single(snapshot.Routes).RouteId);
        var cluster = Assert.Single(snapshot.Clusters);
        Assert.Equal("c1", cluster.ClusterId);
        Assert.Equal("http://127.0.0.1:5000/", cluster.Destinations!["d1"].Address);
    }

    [Fact]
    public void EveryProblem_IsReported_WithItsKeyPathAndValue()
    {
        var data = Valid();
        data["ReverseProxy:Routes:r2:ClusterId"] = "missing";
        data["ReverseProxy:Routes:r2:Match:Path"] = "/x";
        data["ReverseProxy:Clusters:c1:Destinations:d2:Address"] = "localhost:80";
        data["ReverseProxy:Clusters:c2:LoadBalancingPolicy"] = "RoundRobin";

        var (_, errors) = Read(data);

        Assert.Contains("ReverseProxy:Routes:r2:ClusterId: 'missing' names no cluster under ReverseProxy:Clusters", errors);
        Assert.Contains(errors, e => e.StartsWith("ReverseProxy:Clusters:c1:Destinations:d2:Address: 'localhost:80'", StringComparison.Ordinal));
        Assert.Contains("ReverseProxy:Clusters:c2:Destinations: a cluster needs at least one destination", errors);
    }

    [Fact]
    public void BadTimeSpan_NamesPathValueAndFormat()
    {
        var data = Valid();
        data["ReverseProxy:Clusters:c1:HttpRequest:ActivityTimeout"] = "ninety";

        var (_, errors) = Read(data);

        Assert.Equal("ReverseProxy:Clusters:c1:HttpRequest:ActivityTimeout: 'ninety' is not a TimeSpan (use \"00:01:30\" for 90 seconds)", Assert.Single(errors));
    }

    [Fact]
    public void ExtensionBlocks_ChangeTheClusterFingerprint_SoYarpSeesAClusterChange()
    {
        var before = Read(Valid()).Snapshot.Clusters[0];
        var data = Valid();
        data["ReverseProxy:Clusters:c1:ConnectionPool:MaxConnectionsPerServer"] = "4";
        var after = Read(data).Snapshot.Clusters[0];
        var same = Read(Valid()).Snapshot.Clusters[0];

        Assert.NotEqual(before, after);
        Assert.Equal(before, same);
    }
}
