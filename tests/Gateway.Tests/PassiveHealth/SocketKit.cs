using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Gateway.PassiveHealth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Gateway.Tests.PassiveHealth;

/// <summary>
/// Cluster "c" with destinations a (127.0.0.1:5001) and b (127.0.0.1:5002) under a given passive policy (null: passive
/// health off), wired as the gateway wires it: the connect observer, the socket ejection, and YARP's availability
/// recomputed through <see cref="SocketAwareDestinationsPolicy"/> around a policy that keeps every destination.
/// </summary>
internal sealed class SocketKit : IDisposable
{
    private SocketKit(ClusterState cluster, ConnectFailureEjection observer, RecomputingUpdater destinations, RecordingHealthUpdater health, CounterRecorder ejections)
    {
        Cluster = cluster;
        Observer = observer;
        Destinations = destinations;
        HealthUpdater = health;
        Ejections = ejections;
    }

    public ClusterState Cluster { get; }

    public ConnectFailureEjection Observer { get; }

    public RecomputingUpdater Destinations { get; }

    public RecordingHealthUpdater HealthUpdater { get; }

    /// <summary>gateway.ejections by destination.</summary>
    public CounterRecorder Ejections { get; }

    public static SocketKit Create(string? passivePolicy, TimeProvider time, int connectThreshold = 1)
    {
        var config = new ClusterConfig
        {
            ClusterId = "c",
            HealthCheck = new HealthCheckConfig
            {
                Passive = passivePolicy is null
                    ? new PassiveHealthCheckConfig { Enabled = false }
                    : new PassiveHealthCheckConfig { Enabled = true, Policy = passivePolicy, ReactivationPeriod = TimeSpan.FromSeconds(10) },
            },
            Metadata = new Dictionary<string, string> { [EjectionSettings.ConnectThresholdKey] = connectThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
        var cluster = new ClusterState("c", new ClusterModel(config, new HttpMessageInvoker(new HttpClientHandler())));
        foreach (var (id, address) in new[] { ("a", "http://127.0.0.1:5001/"), ("b", "http://127.0.0.1:5002/base") })
        {
            cluster.Destinations[id] = new DestinationState(id, new DestinationModel(new DestinationConfig { Address = address }));
        }

        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        var ejections = new CounterRecorder(meters, "gateway.ejections", "destination");
        var destinations = new RecomputingUpdater();
        var socketEjection = NewSocketEjection(destinations, time, meters);
        destinations.Policy = new SocketAwareDestinationsPolicy(new EveryDestination(), socketEjection);
        destinations.UpdateAllDestinations(cluster);
        var health = new RecordingHealthUpdater();
        var policy = new ConsecutiveFailuresPolicy(health, destinations, new PassiveHealthMetrics(meters, NewKnownSeries()), time, NullLogger<ConsecutiveFailuresPolicy>.Instance);
        var observer = new ConnectFailureEjection(policy, socketEjection);
        observer.OnClusterAdded(cluster);
        return new SocketKit(cluster, observer, destinations, health, ejections);
    }

    public static SocketEjection NewSocketEjection(IClusterDestinationsUpdater destinations, TimeProvider time, IMeterFactory meters)
    {
        var services = new ServiceCollection().AddSingleton(destinations).BuildServiceProvider();
        return new SocketEjection(services, new PassiveHealthMetrics(meters, NewKnownSeries()), time, NullLogger<SocketEjection>.Instance);
    }

    /// <summary>The destination ids YARP's load balancing may pick now.</summary>
    public string[] Available() => [.. Cluster.DestinationsState.AvailableDestinations.Select(d => d.DestinationId).Order(StringComparer.Ordinal)];

    public void Dispose() => Ejections.Dispose();

    private static KnownSeries NewKnownSeries() => new(new ServiceCollection().BuildServiceProvider());

    /// <summary>What YARP's ClusterDestinationsUpdater does, synchronously, counting the recomputations.</summary>
    internal sealed class RecomputingUpdater : IClusterDestinationsUpdater
    {
        private readonly ConcurrentDictionary<string, int> _updates = new(StringComparer.Ordinal);

        public IAvailableDestinationsPolicy? Policy { get; set; }

        public int UpdatesOf(string clusterId) => _updates.GetValueOrDefault(clusterId);

        public void UpdateAllDestinations(ClusterState cluster) => Recompute(cluster, [.. cluster.Destinations.Values.OrderBy(d => d.DestinationId, StringComparer.Ordinal)]);

        public void UpdateAvailableDestinations(ClusterState cluster)
        {
            _updates.AddOrUpdate(cluster.ClusterId, 1, (_, n) => n + 1);
            Recompute(cluster, cluster.DestinationsState.AllDestinations);
        }

        private void Recompute(ClusterState cluster, IReadOnlyList<DestinationState> all) =>
            cluster.DestinationsState = new ClusterDestinationsState(all, Policy!.GetAvailalableDestinations(cluster.Model.Config, all));
    }

    internal sealed class RecordingHealthUpdater : IDestinationHealthUpdater
    {
        public List<(string Destination, DestinationHealth Health, TimeSpan Period)> Calls { get; } = [];

        public void SetActive(ClusterState cluster, IEnumerable<NewActiveDestinationHealth> newHealthStates)
        {
        }

        public void SetPassive(ClusterState cluster, DestinationState destination, DestinationHealth newHealth, TimeSpan reactivationPeriod) =>
            Calls.Add((destination.DestinationId, newHealth, reactivationPeriod));
    }

    private sealed class EveryDestination : IAvailableDestinationsPolicy
    {
        public string Name => "Every";

        public IReadOnlyList<DestinationState> GetAvailalableDestinations(ClusterConfig config, IReadOnlyList<DestinationState> allDestinations) => allDestinations;
    }
}
