using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Gateway.PassiveHealth;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Gateway.Tests.PassiveHealth;

public sealed class ConsecutiveFailuresPolicyTests
{
    [Fact]
    public void ThresholdFailuresInARow_Eject_AndInFlightStragglers_DoNotEjectAgain()
    {
        var (policy, updater, time, cluster, destination) = Create();

        Fail(policy, cluster, destination);
        Succeed(policy, cluster, destination);
        Fail(policy, cluster, destination);
        Fail(policy, cluster, destination);
        Assert.Empty(updater.Calls);

        Fail(policy, cluster, destination);
        Assert.Equal((DestinationHealth.Unhealthy, TimeSpan.FromSeconds(10)), Assert.Single(updater.Calls));

        // Requests that were already in flight fail too; YARP has not flipped the health yet (this fake never does).
        for (var i = 0; i < 5; i++)
        {
            Fail(policy, cluster, destination);
        }

        Assert.Single(updater.Calls);
    }

    [Fact]
    public void FailureAfterReactivation_EjectsForTwiceAsLong_AndASuccess_ResetsTheBackOff()
    {
        var (policy, updater, time, cluster, destination) = Create();
        for (var i = 0; i < 3; i++)
        {
            Fail(policy, cluster, destination);
        }

        time.Advance(TimeSpan.FromSeconds(11));
        Fail(policy, cluster, destination);
        Assert.Equal((DestinationHealth.Unhealthy, TimeSpan.FromSeconds(20)), updater.Calls[^1]);

        time.Advance(TimeSpan.FromSeconds(21));
        Succeed(policy, cluster, destination);
        Assert.Equal(DestinationHealth.Healthy, updater.Calls[^1].Health);

        // Back to normal: one failure is not enough any more.
        Fail(policy, cluster, destination);
        Assert.Equal(DestinationHealth.Healthy, updater.Calls[^1].Health);
    }

    [Fact]
    public void ARefusedConnect_EjectsAtOnce()
    {
        var (policy, updater, _, cluster, destination) = Create();

        Fail(policy, cluster, destination, new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused"));

        Assert.Equal((DestinationHealth.Unhealthy, TimeSpan.FromSeconds(10)), Assert.Single(updater.Calls));
    }

    private static (ConsecutiveFailuresPolicy, RecordingUpdater, ManualTime, ClusterState, DestinationState) Create()
    {
        var config = new ClusterConfig
        {
            ClusterId = "c",
            HealthCheck = new HealthCheckConfig { Passive = new PassiveHealthCheckConfig { Enabled = true, ReactivationPeriod = TimeSpan.FromSeconds(10) } },
            Metadata = new Dictionary<string, string> { [EjectionSettings.ThresholdKey] = "3" },
        };
        var cluster = new ClusterState("c", new ClusterModel(config, new HttpMessageInvoker(new HttpClientHandler())));
        var destination = new DestinationState("d");
        var updater = new RecordingUpdater();
        var time = new ManualTime();
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        var policy = new ConsecutiveFailuresPolicy(updater, new NoopDestinationsUpdater(), new PassiveHealthMetrics(meters, new KnownSeries(new ServiceCollection().BuildServiceProvider())), time, NullLogger<ConsecutiveFailuresPolicy>.Instance);
        return (policy, updater, time, cluster, destination);
    }

    private static void Fail(ConsecutiveFailuresPolicy policy, ClusterState cluster, DestinationState destination, Exception? exception = null)
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IForwarderErrorFeature>(new ErrorFeature(ForwarderError.Request, exception ?? new HttpRequestException(HttpRequestError.ResponseEnded, "reset")));
        policy.RequestProxied(context, cluster, destination);
    }

    private static void Succeed(ConsecutiveFailuresPolicy policy, ClusterState cluster, DestinationState destination) =>
        policy.RequestProxied(new DefaultHttpContext(), cluster, destination);

    private sealed record ErrorFeature(ForwarderError Error, Exception? Exception) : IForwarderErrorFeature;

    private sealed class RecordingUpdater : IDestinationHealthUpdater
    {
        public List<(DestinationHealth Health, TimeSpan Period)> Calls { get; } = [];

        public void SetActive(ClusterState cluster, IEnumerable<NewActiveDestinationHealth> newHealthStates)
        {
        }

        public void SetPassive(ClusterState cluster, DestinationState destination, DestinationHealth newHealth, TimeSpan reactivationPeriod) =>
            Calls.Add((newHealth, reactivationPeriod));
    }

    private sealed class NoopDestinationsUpdater : IClusterDestinationsUpdater
    {
        public void UpdateAllDestinations(ClusterState cluster)
        {
        }

        public void UpdateAvailableDestinations(ClusterState cluster)
        {
        }
    }
}
