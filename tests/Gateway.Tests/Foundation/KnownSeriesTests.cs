using System.Diagnostics.CodeAnalysis;
using Gateway.Foundation;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace Gateway.Tests.Foundation;

public sealed class KnownSeriesTests
{
    [Fact]
    public async Task Seeds_WaitForStart_ThenRunAtOnce_AndAgainAfterEveryAppliedConfig()
    {
        var state = new EmptyProxyState();
        var series = new KnownSeries(new ServiceCollection().AddSingleton<IProxyStateLookup>(state).BuildServiceProvider());
        var early = new List<IProxyStateLookup>();
        var late = new List<IProxyStateLookup>();

        series.Add(early.Add);
        // YARP's initial load happens before the host starts, while nothing listens to the meter yet: nothing runs.
        series.ConfigurationApplied([]);
        Assert.Empty(early);

        await series.StartAsync(CancellationToken.None);
        Assert.Equal([state], early);

        series.Add(late.Add);
        Assert.Equal([state], late);

        series.ConfigurationApplied([]);
        Assert.Equal(2, early.Count);
        Assert.Equal(2, late.Count);
    }

    [Fact]
    public void ADestinationASourceSupplies_IsNotConfigured()
    {
        var series = new KnownSeries(new ServiceCollection().AddSingleton<IDestinationSource>(new OneSupplied("orders", "pod-1")).BuildServiceProvider());

        Assert.False(series.IsConfigured("orders", "pod-1"));
        Assert.True(series.IsConfigured("orders", "static-1"));
        Assert.True(series.IsConfigured("billing", "pod-1"));
    }

    private sealed class EmptyProxyState : IProxyStateLookup
    {
        public bool TryGetRoute(string id, [NotNullWhen(true)] out RouteModel? route)
        {
            route = null;
            return false;
        }

        public IEnumerable<RouteModel> GetRoutes() => [];

        public bool TryGetCluster(string id, [NotNullWhen(true)] out ClusterState? cluster)
        {
            cluster = null;
            return false;
        }

        public IEnumerable<ClusterState> GetClusters() => [];
    }

    private sealed class OneSupplied(string clusterId, string destinationId) : IDestinationSource
    {
        public event Action? Changed
        {
            add { }
            remove { }
        }

        public IReadOnlyDictionary<string, DestinationConfig>? GetDestinations(ClusterConfig cluster) =>
            throw new InvalidOperationException("may start discovery: IsConfigured must only read");

        public bool Supplies(string cluster, string destination) => cluster == clusterId && destination == destinationId;

        public void ClustersApplied(IReadOnlyList<ClusterConfig> clusters)
        {
        }
    }
}
