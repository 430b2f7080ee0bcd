using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Gateway.Foundation;
using Gateway.PassiveHealth;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Gateway.Tests.PassiveHealth;

public sealed class ConnectFailureEjectionTests
{
    [Fact]
    public void ARefusedConnect_EjectsTheDestinationAtThatEndpoint_Only()
    {
        var (ejection, updater, _, _) = Create();

        ejection.ConnectFailed("c", new DnsEndPoint("127.0.0.1", 5002), SocketError.ConnectionRefused);

        var call = Assert.Single(updater.Calls);
        Assert.Equal(("b", DestinationHealth.Unhealthy, TimeSpan.FromSeconds(10)), call);
    }

    [Theory]
    [InlineData(SocketError.ConnectionReset)]
    [InlineData(SocketError.TimedOut)]
    [InlineData(SocketError.OperationAborted)]
    public void OtherSocketErrors_AreLeftToThePolicy(SocketError error)
    {
        var (ejection, updater, _, _) = Create();

        ejection.ConnectFailed("c", new DnsEndPoint("127.0.0.1", 5002), error);

        Assert.Empty(updater.Calls);
    }

    [Fact]
    public void UnknownCluster_OrAHigherConnectThreshold_UnderConsecutiveFailures_EjectNothingAtTheSocket()
    {
        var (ejection, updater, _, _) = Create();
        ejection.ConnectFailed("other", new DnsEndPoint("127.0.0.1", 5002), SocketError.ConnectionRefused);
        Assert.Empty(updater.Calls);

        // Two refused connects in a row are asked for: the socket does not count them, RequestProxied does (once each).
        (ejection, updater, _, _) = Create(connectThreshold: 2);
        ejection.ConnectFailed("c", new DnsEndPoint("127.0.0.1", 5002), SocketError.ConnectionRefused);
        Assert.Empty(updater.Calls);
    }

    [Theory]
    [InlineData("TransportFailureRate")]
    [InlineData(null)]
    public void UnderAnotherPolicy_OrWithPassiveHealthOff_ARefusedConnect_TakesTheDestinationOutOfRotation_UntilItsReactivationPeriod(string? passivePolicy)
    {
        var time = new FakeTimeProvider();
        using var kit = SocketKit.Create(passivePolicy, time);

        kit.Observer.ConnectFailed("c", new DnsEndPoint("127.0.0.1", 5002), SocketError.ConnectionRefused);

        // The health state is left to the policy (TransportFailureRate would set it back to Healthy at its next report).
        Assert.Empty(kit.HealthUpdater.Calls);
        Assert.Equal(["a"], kit.Available());
        Assert.Equal(1, kit.Destinations.UpdatesOf("c"));
        Assert.Equal(1L, kit.Ejections["b"]);

        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.Equal(["a"], kit.Available());
        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(["a", "b"], kit.Available());
        Assert.Equal(2, kit.Destinations.UpdatesOf("c"));

        // Refused again after reactivation: out again.
        kit.Observer.ConnectFailed("c", new DnsEndPoint("127.0.0.1", 5002), SocketError.ConnectionRefused);
        Assert.Equal(["a"], kit.Available());
        Assert.Equal(2L, kit.Ejections["b"]);
    }

    [Fact]
    public void ConnectsUnderWayWhenItWasEjected_DoNotEjectItAgain()
    {
        using var kit = SocketKit.Create("TransportFailureRate", new FakeTimeProvider());

        for (var i = 0; i < 5; i++)
        {
            kit.Observer.ConnectFailed("c", new DnsEndPoint("127.0.0.1", 5002), SocketError.ConnectionRefused);
        }

        Assert.Equal(1L, kit.Ejections["b"]);
        Assert.Equal(1, kit.Destinations.UpdatesOf("c"));
    }

    [Fact]
    public void EveryDestinationRefusing_LeavesThemAllInRotation_InsteadOfNone()
    {
        using var kit = SocketKit.Create(null, new FakeTimeProvider());

        kit.Observer.ConnectFailed("c", new DnsEndPoint("127.0.0.1", 5001), SocketError.ConnectionRefused);
        kit.Observer.ConnectFailed("c", new DnsEndPoint("127.0.0.1", 5002), SocketError.ConnectionRefused);

        Assert.Equal(["a", "b"], kit.Available());
    }

    [Fact]
    public void AHigherConnectThreshold_CountsRefusedConnectsInARow_AndASuccessfulConnectResetsTheCount()
    {
        using var kit = SocketKit.Create("TransportFailureRate", new FakeTimeProvider(), connectThreshold: 2);
        var b = new DnsEndPoint("127.0.0.1", 5002);

        kit.Observer.ConnectFailed("c", b, SocketError.ConnectionRefused);
        kit.Observer.Connected("c", b);
        kit.Observer.ConnectFailed("c", b, SocketError.ConnectionRefused);
        Assert.Equal(["a", "b"], kit.Available());

        kit.Observer.ConnectFailed("c", b, SocketError.ConnectionRefused);
        Assert.Equal(["a"], kit.Available());
    }

    [Fact]
    public void ARemovedCluster_IsForgotten()
    {
        var (ejection, updater, _, cluster) = Create();

        ejection.OnClusterRemoved(cluster);
        ejection.ConnectFailed("c", new DnsEndPoint("127.0.0.1", 5002), SocketError.ConnectionRefused);

        Assert.Empty(updater.Calls);
    }

    [Fact]
    public void TheRequestThatFoundTheRefusedConnect_DoesNotEjectAgain()
    {
        var (ejection, updater, policy, cluster) = Create();
        ejection.ConnectFailed("c", new DnsEndPoint("127.0.0.1", 5002), SocketError.ConnectionRefused);

        // YARP's passive health middleware reports the same request when it ends (this fake never flips the health).
        var context = new DefaultHttpContext();
        context.Features.Set<IForwarderErrorFeature>(new ErrorFeature(ForwarderError.Request, new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused")));
        policy.RequestProxied(context, cluster, cluster.Destinations["b"]);

        Assert.Single(updater.Calls);
    }

    private static (ConnectFailureEjection, RecordingUpdater, ConsecutiveFailuresPolicy, ClusterState) Create(string passivePolicy = ConsecutiveFailuresPolicy.PolicyName, int connectThreshold = 1)
    {
        var config = new ClusterConfig
        {
            ClusterId = "c",
            HealthCheck = new HealthCheckConfig
            {
                Passive = new PassiveHealthCheckConfig { Enabled = true, Policy = passivePolicy, ReactivationPeriod = TimeSpan.FromSeconds(10) },
            },
            Metadata = new Dictionary<string, string> { [EjectionSettings.ConnectThresholdKey] = connectThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
        var cluster = new ClusterState("c", new ClusterModel(config, new HttpMessageInvoker(new HttpClientHandler())));
        foreach (var (id, address) in new[] { ("a", "http://127.0.0.1:5001/"), ("b", "http://127.0.0.1:5002/base") })
        {
            cluster.Destinations[id] = new DestinationState(id, new DestinationModel(new DestinationConfig { Address = address }));
        }

        var updater = new RecordingUpdater();
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        var policy = new ConsecutiveFailuresPolicy(updater, new NoopDestinationsUpdater(), new PassiveHealthMetrics(meters, new KnownSeries(new ServiceCollection().BuildServiceProvider())), new ManualTime(), NullLogger<ConsecutiveFailuresPolicy>.Instance);
        var ejection = new ConnectFailureEjection(policy, SocketKit.NewSocketEjection(new NoopDestinationsUpdater(), new FakeTimeProvider(), meters));
        ejection.OnClusterAdded(cluster);
        return (ejection, updater, policy, cluster);
    }

    private sealed record ErrorFeature(ForwarderError Error, Exception? Exception) : IForwarderErrorFeature;

    private sealed class RecordingUpdater : IDestinationHealthUpdater
    {
        public List<(string Destination, DestinationHealth Health, TimeSpan Period)> Calls { get; } = [];

        public void SetActive(ClusterState cluster, IEnumerable<NewActiveDestinationHealth> newHealthStates)
        {
        }

        public void SetPassive(ClusterState cluster, DestinationState destination, DestinationHealth newHealth, TimeSpan reactivationPeriod) =>
            Calls.Add((destination.DestinationId, newHealth, reactivationPeriod));
    }

    internal sealed class NoopDestinationsUpdater : IClusterDestinationsUpdater
    {
        public void UpdateAllDestinations(ClusterState cluster)
        {
        }

        public void UpdateAvailableDestinations(ClusterState cluster)
        {
        }
    }
}
