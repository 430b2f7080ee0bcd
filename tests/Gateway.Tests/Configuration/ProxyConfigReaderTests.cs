using Gateway.Configuration;
using Gateway.Foundation;
using Gateway.Pooling;
using Gateway.Retries;
using Microsoft.Extensions.Configuration;

namespace Gateway.Tests.Configuration;

public sealed class ProxyConfigReaderTests
{
    // Stand-ins for blocks declared elsewhere: one that supplies destinations (as Discovery does), one inside routes.
    private static readonly ExtensionBlock<RetryOptions> SuppliedBlock = new(ExtensionScope.Cluster, "Supplier", null, suppliesDestinations: true);
    private static readonly ExtensionBlock<RetryOptions> RouteBlock = new(
        ExtensionScope.Route, "Extra", "Gateway:Extra", static (o, block, errors) => { if (o.MaxAttempts > 3) { errors.Add($"{block.Path}:MaxAttempts: too many"); } });

    private static readonly ExtensionBlock[] Blocks = [ConnectionPoolOptions.Block, RetryOptions.Block, SuppliedBlock, RouteBlock];

    private static (ProxySnapshot Snapshot, List<string> Errors) Read(Dictionary<string, string?> data)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(data).Build();
        var errors = new List<string>();
        return (ProxyConfigReader.Read(config, Blocks, errors), errors);
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

        Assert.Equal("ReverseProxy:Clusters:c1:HttpRequest:ActivityTimeout: 'ninety' is not a duration in YARP's form [d.]hh:mm:ss[.fffffff] (e.g. \"00:00:30\" for 30 seconds)", Assert.Single(errors));
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

    [Fact]
    public void BlockDefaults_ChangeEveryClusterThatUsesThem()
    {
        var before = Read(Valid()).Snapshot.Clusters[0];
        var data = Valid();
        data["Gateway:Retry:MaxAttempts"] = "3";
        var after = Read(data).Snapshot.Clusters[0];

        Assert.NotEqual(before, after);
        Assert.Equal(3, RetryOptions.Block.Get(after.Metadata).Defaults.MaxAttempts);
        Assert.Null(RetryOptions.Block.Get(after.Metadata).Own);
    }

    [Fact]
    public void BlockSettings_AreReadBackTyped_FromTheClusterTheyTravelIn()
    {
        var data = Valid();
        data["ReverseProxy:Clusters:c1:ConnectionPool:MaxConnectionsPerServer"] = "4";
        data["ReverseProxy:Clusters:c1:ConnectionPool:IdleTimeout"] = "00:00:30";
        data["Gateway:ConnectionPool:MaxConnectionsPerServer"] = "100";

        var (snapshot, errors) = Read(data);
        var pool = ConnectionPoolOptions.Block.Get(snapshot.Clusters[0].Metadata);

        Assert.Empty(errors);
        Assert.Equal(4, pool.Own!.MaxConnectionsPerServer);
        Assert.Equal(TimeSpan.FromSeconds(30), pool.Own.IdleTimeout);
        Assert.Equal(100, pool.Defaults.MaxConnectionsPerServer);
        // Same content, same settings instance: parsed once per config, not per request.
        Assert.Same(pool, ConnectionPoolOptions.Block.Get(snapshot.Clusters[0].Metadata));
    }

    [Fact]
    public void ABlockWithNothingSet_LeavesTheUsersMetadataAlone()
    {
        var data = Valid();
        data["ReverseProxy:Clusters:c1:Metadata:team"] = "orders";

        var cluster = Read(data).Snapshot.Clusters[0];

        Assert.Equal("orders", Assert.Single(cluster.Metadata!).Value);
        Assert.Null(RetryOptions.Block.Get(cluster.Metadata).Own);
    }

    [Fact]
    public void BadBlockValues_AreReportedWithTheirKeyPath_ByTheBlocksOwnValidator()
    {
        var data = Valid();
        data["ReverseProxy:Clusters:c1:Retry:MaxAttempts"] = "9";
        data["ReverseProxy:Clusters:c1:ConnectionPool:IdleTimeout"] = "soon";
        data["ReverseProxy:Routes:r1:Extra:MaxAttempts"] = "4";

        var (_, errors) = Read(data);

        Assert.Contains("ReverseProxy:Clusters:c1:Retry:MaxAttempts: '9' must be between 1 and 5 (attempts including the first)", errors);
        Assert.Contains("ReverseProxy:Clusters:c1:ConnectionPool:IdleTimeout: 'soon' is not a TimeSpan (use \"00:01:30\" for 90 seconds)", errors);
        Assert.Contains("ReverseProxy:Routes:r1:Extra:MaxAttempts: too many", errors);
    }

    [Fact]
    public void RouteBlocks_TravelInTheRoutesMetadata()
    {
        var data = Valid();
        data["ReverseProxy:Routes:r1:Extra:MaxAttempts"] = "2";

        var route = Read(data).Snapshot.Routes[0];

        Assert.Equal(2, RouteBlock.Get(route.Metadata).Own!.MaxAttempts);
    }

    [Fact]
    public void AClusterWhoseBlockSuppliesDestinations_NeedsNoStaticDestinations()
    {
        var data = Valid();
        data["ReverseProxy:Routes:r2:ClusterId"] = "found";
        data["ReverseProxy:Routes:r2:Match:Path"] = "/found";
        data["ReverseProxy:Clusters:found:Supplier:MaxAttempts"] = "1";
        data["ReverseProxy:Routes:r3:ClusterId"] = "empty";
        data["ReverseProxy:Routes:r3:Match:Path"] = "/empty";
        data["ReverseProxy:Clusters:empty:LoadBalancingPolicy"] = "RoundRobin";

        var (_, errors) = Read(data);

        Assert.Equal("ReverseProxy:Clusters:empty:Destinations: a cluster needs at least one destination", Assert.Single(errors));
    }
}
