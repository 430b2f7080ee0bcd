// Outlier ejection as a YARP passive health policy. What YARP covers: IDestinationHealthUpdater marks a destination
// passively Unhealthy, takes it out of AvailableDestinations and puts it back (health Unknown) after a reactivation
// period. What it lacks and this adds: YARP's only passive policy, TransportFailureRate, needs a failure *rate* over a
// 60 s window (at least 10 requests) and never reactivates sooner than that window; here N consecutive failures eject
// at once (a refused connect by default at the first), a failure right after reactivation ejects again for twice as long (capped), a success resets the back-off,
// and 5xx responses can count as failures. A refused connect is also reported straight from the socket
// (ConnectFailureEjection), so that ejection does not wait for the error to reach RequestProxied.
using System.Runtime.CompilerServices;
using Gateway.Foundation;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Gateway.PassiveHealth;

internal sealed class ConsecutiveFailuresPolicy(
    IDestinationHealthUpdater healthUpdater,
    IClusterDestinationsUpdater destinationsUpdater,
    PassiveHealthMetrics metrics,
    TimeProvider time,
    ILogger<ConsecutiveFailuresPolicy> logger) : IPassiveHealthCheckPolicy
{
    public const string PolicyName = "ConsecutiveFailures";

    private readonly ConditionalWeakTable<DestinationState, DestinationRecord> _records = new();

    public string Name => PolicyName;

    public void RequestProxied(HttpContext context, ClusterState cluster, DestinationState destination)
    {
        var record = _records.GetOrCreateValue(destination);
        var error = context.Features.Get<IForwarderErrorFeature>();
        if (!IsFailure(context, cluster, error))
        {
            // Fast path: nothing to reset. A late success from before an ejection does not end it early either.
            if ((Volatile.Read(ref record.Consecutive) == 0 && Volatile.Read(ref record.ConsecutiveConnect) == 0 && Volatile.Read(ref record.EjectionsInARow) == 0)
                || destination.Health.Passive == DestinationHealth.Unhealthy)
            {
                return;
            }

            bool recovered;
            lock (record)
            {
                if (time.GetTimestamp() < record.EjectedUntil)
                {
                    return;
                }

                record.Consecutive = 0;
                record.ConsecutiveConnect = 0;
                recovered = record.EjectionsInARow > 0;
                record.EjectionsInARow = 0;
            }

            if (recovered)
            {
                healthUpdater.SetPassive(cluster, destination, DestinationHealth.Healthy, SettingsFor(cluster.Model).ReactivationPeriod);
                Log.Recovered(logger, cluster.ClusterId, destination.DestinationId);
            }

            return;
        }

        RecordFailure(cluster, destination, UpstreamErrors.NothingWasSent(error?.Exception));
    }

    /// <summary>
    /// A connect refused at the socket (reported by the pool's connect callback, see <see cref="ConnectFailureEjection"/>):
    /// ejects now when one such failure is enough, instead of after the error has travelled up to
    /// <see cref="RequestProxied"/>. With a higher connect threshold the failure is counted there, once.
    /// </summary>
    public void ConnectRefused(ClusterState cluster, DestinationState destination)
    {
        var onProbation = _records.TryGetValue(destination, out var record) && Volatile.Read(ref record.EjectionsInARow) > 0;
        if (SettingsFor(cluster.Model).ConnectThreshold == 1 || onProbation)
        {
            RecordFailure(cluster, destination, connectFailed: true);
        }
    }

    private void RecordFailure(ClusterState cluster, DestinationState destination, bool connectFailed)
    {
        // Requests that were in flight when the destination was ejected do not extend the ejection.
        if (destination.Health.Passive == DestinationHealth.Unhealthy)
        {
            return;
        }

        var record = _records.GetOrCreateValue(destination);
        var settings = SettingsFor(cluster.Model);
        TimeSpan period;
        int failures;
        int ejections;
        lock (record)
        {
            // Concurrent failures race YARP's health update: the first one ejects, the others were already in flight.
            var now = time.GetTimestamp();
            if (now < record.EjectedUntil)
            {
                return;
            }

            failures = ++record.Consecutive;
            var connectFailures = connectFailed ? ++record.ConsecutiveConnect : record.ConsecutiveConnect = 0;
            // On probation (reactivated, no success yet) one failure is enough.
            if (failures < (record.EjectionsInARow > 0 ? 1 : settings.Threshold) && (!connectFailed || connectFailures < settings.ConnectThreshold))
            {
                return;
            }

            record.Consecutive = 0;
            record.ConsecutiveConnect = 0;
            ejections = ++record.EjectionsInARow;
            period = settings.BackOff(ejections);
            record.EjectedUntil = now + (long)(period.TotalSeconds * time.TimestampFrequency);
        }

        healthUpdater.SetPassive(cluster, destination, DestinationHealth.Unhealthy, period);
        // YARP recomputes the available destinations on a thread-pool task; under load that lets more requests pick
        // the ejected destination. Recompute now (idempotent).
        destinationsUpdater.UpdateAvailableDestinations(cluster);
        metrics.Ejected(cluster.ClusterId, destination.DestinationId);
        Log.Ejected(logger, cluster.ClusterId, destination.DestinationId, period, failures, ejections);
    }

    private static bool IsFailure(HttpContext context, ClusterState cluster, IForwarderErrorFeature? error)
    {
        if (error is not null)
        {
            return UpstreamErrors.IsDestinationFailure(context, error);
        }

        return context.Response.StatusCode >= 500 && SettingsFor(cluster.Model).Count5xx;
    }

    private static EjectionSettings SettingsFor(ClusterModel model) => EjectionSettings.For(model);

    private sealed class DestinationRecord
    {
        public int Consecutive;
        public int ConsecutiveConnect;
        public int EjectionsInARow;
        public long EjectedUntil;
    }
}
