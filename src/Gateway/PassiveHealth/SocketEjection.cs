// Gap: a refused connect is the clearest evidence that a destination is gone (nothing listens there), yet only the
// gateway's ConsecutiveFailures policy acts on it at once. YARP's TransportFailureRate needs a failure *rate* over a
// 60 s window, and with passive health off nothing acts at all, so a dead pod keeps its share of requests. This takes
// the destination out of rotation for the cluster's reactivation period whatever its passive policy is. It keeps its
// own mark, outside the destination's health state: TransportFailureRate sets the state back to Healthy at its next
// report while its rate is under the limit, and with passive health off YARP ignores that state. The mark is read
// by SocketAwareDestinationsPolicy, which wraps each of YARP's availability policies.
// YARP's destinations updater is resolved when first needed: it is built from those policies, which read this class.
using System.Runtime.CompilerServices;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Gateway.PassiveHealth;

internal sealed class SocketEjection(
    IServiceProvider services,
    PassiveHealthMetrics metrics,
    TimeProvider time,
    ILogger<SocketEjection> logger)
{
    private readonly ConditionalWeakTable<DestinationState, Mark> _marks = new();
    private IClusterDestinationsUpdater? _destinationsUpdater;
    private int _ejected;
    private int _counting;

    /// <summary>Whether any destination of any cluster is out of rotation now (the availability policies' fast path).</summary>
    public bool AnyEjected => Volatile.Read(ref _ejected) > 0;

    /// <summary>Whether some destination has refused connects counted towards a threshold above 1.</summary>
    public bool AnyCounting => Volatile.Read(ref _counting) > 0;

    public bool IsEjected(DestinationState destination) =>
        _marks.TryGetValue(destination, out var mark) && Volatile.Read(ref mark.Ejected) != 0;

    /// <summary>
    /// A connect to the destination was refused (or its host or network is unreachable). Ejects it when that makes
    /// <c>PassiveHealth.ConsecutiveConnectFailures</c> in a row (1 by default: at once).
    /// </summary>
    public void ConnectRefused(ClusterState cluster, DestinationState destination, string policy)
    {
        var settings = SettingsFor(cluster.Model);
        var mark = _marks.GetOrCreateValue(destination);
        if (Volatile.Read(ref mark.Ejected) != 0)
        {
            // Connects that were under way when it was ejected.
            return;
        }

        if (settings.ConnectThreshold > 1)
        {
            var refused = Interlocked.Increment(ref mark.Refused);
            if (refused == 1)
            {
                Interlocked.Increment(ref _counting);
            }

            if (refused < settings.ConnectThreshold)
            {
                return;
            }
        }

        if (Interlocked.CompareExchange(ref mark.Ejected, 1, 0) != 0)
        {
            return;
        }

        ResetCount(mark);
        Interlocked.Increment(ref _ejected);
        // Now, on this thread: the next load-balancing decision must not pick it again.
        DestinationsUpdater.UpdateAvailableDestinations(cluster);
        var period = settings.ReactivationPeriod;
        var reactivation = new Reactivation(this, cluster, destination, mark);
        reactivation.Timer = time.CreateTimer(static state => ((Reactivation)state!).Run(), reactivation, period, Timeout.InfiniteTimeSpan);
        metrics.Ejected(cluster.ClusterId, destination.DestinationId);
        Log.EjectedAtSocket(logger, cluster.ClusterId, destination.DestinationId, period, policy);
    }

    /// <summary>A connect to the destination succeeded: refused connects counted so far are no longer "in a row".</summary>
    public void Connected(DestinationState destination)
    {
        if (_marks.TryGetValue(destination, out var mark))
        {
            ResetCount(mark);
        }
    }

    private void ResetCount(Mark mark)
    {
        if (Interlocked.Exchange(ref mark.Refused, 0) > 0)
        {
            Interlocked.Decrement(ref _counting);
        }
    }

    private void Reactivate(ClusterState cluster, DestinationState destination, Mark mark)
    {
        if (Interlocked.Exchange(ref mark.Ejected, 0) == 0)
        {
            return;
        }

        Interlocked.Decrement(ref _ejected);
        DestinationsUpdater.UpdateAvailableDestinations(cluster);
        Log.ReactivatedAtSocket(logger, cluster.ClusterId, destination.DestinationId);
    }

    private IClusterDestinationsUpdater DestinationsUpdater =>
        _destinationsUpdater ??= services.GetRequiredService<IClusterDestinationsUpdater>();

    private static EjectionSettings SettingsFor(ClusterModel model) => EjectionSettings.For(model);

    private sealed class Mark
    {
        public int Ejected;
        public int Refused;
    }

    private sealed class Reactivation(SocketEjection owner, ClusterState cluster, DestinationState destination, Mark mark)
    {
        public ITimer? Timer;

        public void Run()
        {
            owner.Reactivate(cluster, destination, mark);
            Timer?.Dispose();
        }
    }
}
