using Gateway.Configuration;
using Gateway.Foundation;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Tests.Configuration;

public sealed class GatewayProxyConfigProviderTests
{
    private static readonly ClusterConfig Static = new()
    {
        ClusterId = "static",
        Destinations = new Dictionary<string, DestinationConfig> { ["d1"] = new() { Address = "http://127.0.0.1:1/" } },
    };

    private static readonly ClusterConfig Discovered = new()
    {
        ClusterId = "orders",
        Destinations = new Dictionary<string, DestinationConfig> { ["pod-a"] = new() { Address = "http://127.0.0.1:2/" } },
    };

    [Fact]
    public void SuppliedDestinations_AreAddedToTheClustersTheySource_AndAStaticIdWins()
    {
        var source = new FakeSource();
        source.Set("orders", ("pod-a", "http://10.0.0.1/"), ("pod-b", "http://10.0.0.2/"));
        using var provider = new GatewayProxyConfigProvider([source]);

        provider.Update(new ProxySnapshot([], [Static, Discovered]));
        var clusters = provider.GetConfig().Clusters;

        Assert.Same(Static, clusters[0]);
        Assert.Equal("http://127.0.0.1:2/", clusters[1].Destinations!["pod-a"].Address);
        Assert.Equal("http://10.0.0.2/", clusters[1].Destinations!["pod-b"].Address);
        Assert.Equal(["orders", "static"], source.Applied.Order());
    }

    [Fact]
    public void ASourceChange_RehandsYarpTheLastValidatedConfig_WithTheNewSet()
    {
        var source = new FakeSource();
        using var provider = new GatewayProxyConfigProvider([source]);
        provider.Update(new ProxySnapshot([new RouteConfig { RouteId = "r", ClusterId = "orders" }], [Discovered]));
        var before = provider.GetConfig();

        source.Set("orders", ("pod-c", "http://10.0.0.3/"));

        Assert.True(before.ChangeToken.HasChanged, "YARP is told to reload");
        var after = provider.GetConfig();
        Assert.NotSame(before, after);
        Assert.Same(before.Routes, after.Routes);
        Assert.Equal(["pod-a", "pod-c"], after.Clusters[0].Destinations!.Keys.Order());
    }

    [Fact]
    public void AMetadataSourceChange_RehandsYarpTheConfig_WithTheValueInTheClustersMetadata_AndLeavesOthersAlone()
    {
        var metadata = new FakeMetadata();
        using var provider = new GatewayProxyConfigProvider([], [metadata]);
        var withBlock = Discovered with { Metadata = new Dictionary<string, string> { ["Gateway.Block.Tls"] = "{}" } };
        provider.Update(new ProxySnapshot([], [Static, withBlock]));
        var before = provider.GetConfig();
        Assert.Same(Static, before.Clusters[0]);
        Assert.Equal("0", before.Clusters[1].Metadata![FakeMetadata.Key]);
        Assert.Equal("{}", before.Clusters[1].Metadata!["Gateway.Block.Tls"]);

        metadata.Bump();

        Assert.True(before.ChangeToken.HasChanged, "YARP is told to reload");
        Assert.Equal("1", provider.GetConfig().Clusters[1].Metadata![FakeMetadata.Key]);
        Assert.Same(Static, provider.GetConfig().Clusters[0]);
    }

    private sealed class FakeMetadata : IClusterMetadataSource
    {
        public const string Key = "Gateway.Test.Version";
        private int _version;

        public event Action? Changed;

        public string MetadataKey => Key;

        public string? GetValue(ClusterConfig cluster) => cluster.ClusterId == "orders" ? _version.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;

        public void Bump()
        {
            _version++;
            Changed?.Invoke();
        }
    }

    private sealed class FakeSource : IDestinationSource
    {
        private readonly Dictionary<string, IReadOnlyDictionary<string, DestinationConfig>> _sets = [];

        public event Action? Changed;

        public List<string> Applied { get; } = [];

        public void Set(string clusterId, params (string Id, string Address)[] destinations)
        {
            _sets[clusterId] = destinations.ToDictionary(d => d.Id, d => new DestinationConfig { Address = d.Address });
            Changed?.Invoke();
        }

        public IReadOnlyDictionary<string, DestinationConfig>? GetDestinations(ClusterConfig cluster) =>
            _sets.GetValueOrDefault(cluster.ClusterId);

        public bool Supplies(string clusterId, string destinationId) =>
            _sets.TryGetValue(clusterId, out var set) && set.ContainsKey(destinationId);

        public void ClustersApplied(IReadOnlyList<ClusterConfig> clusters) => Applied.AddRange(clusters.Select(c => c.ClusterId));
    }
}
