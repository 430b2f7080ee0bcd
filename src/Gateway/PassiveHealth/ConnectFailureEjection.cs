// Gap: YARP's passive health policies hear of a failed request only once its error has travelled up through
// SocketsHttpHandler and the forwarder. The first time, in a running process, that path is cold (JIT, exception
// machinery) and took 40-60 ms under test load, while load balancing kept sending requests to the dead destination.
// A refused connect is known at the socket: eject there, whichever passive policy the cluster names. Under
// ConsecutiveFailures the policy itself ejects (its back-off and probation apply); under any other policy, or with
// passive health off, SocketEjection does.
// It learns YARP's clusters as a cluster-change listener, not from IProxyStateLookup: YARP's proxy state is built from
// the pool factory that reports to this class, so asking for it here would be a dependency cycle.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Gateway.Pooling;
using Yarp.ReverseProxy.Model;

namespace Gateway.PassiveHealth;

internal sealed class ConnectFailureEjection(ConsecutiveFailuresPolicy policy, SocketEjection socketEjection) : IUpstreamConnectObserver, IClusterChangeListener
{
    /// <summary>How the log and the docs name a cluster whose passive health is off.</summary>
    public const string NoPassivePolicy = "none";

    private readonly ConcurrentDictionary<string, ClusterState> _clusters = new(StringComparer.OrdinalIgnoreCase);

    public void OnClusterAdded(ClusterState cluster) => _clusters[cluster.ClusterId] = cluster;

    public void OnClusterChanged(ClusterState cluster) => _clusters[cluster.ClusterId] = cluster;

    public void OnClusterRemoved(ClusterState cluster) => _clusters.TryRemove(new KeyValuePair<string, ClusterState>(cluster.ClusterId, cluster));

    public void ConnectFailed(string clusterId, DnsEndPoint endPoint, SocketError error)
    {
        // Nothing listens there (or no route to it): the same evidence the policy counts as a connect failure.
        if (error is not (SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
            || !_clusters.TryGetValue(clusterId, out var cluster))
        {
            return;
        }

        var passive = cluster.Model.Config.HealthCheck?.Passive;
        var passivePolicy = passive is { Enabled: true } ? passive.Policy : null;
        // YARP looks passive policies up by name, ignoring case.
        var consecutiveFailures = string.Equals(passivePolicy, ConsecutiveFailuresPolicy.PolicyName, StringComparison.OrdinalIgnoreCase);
        foreach (var destination in cluster.Destinations.Values)
        {
            if (!Connects(destination, endPoint))
            {
                continue;
            }

            if (consecutiveFailures)
            {
                policy.ConnectRefused(cluster, destination);
            }
            else
            {
                socketEjection.ConnectRefused(cluster, destination, string.IsNullOrEmpty(passivePolicy) ? NoPassivePolicy : passivePolicy);
            }
        }
    }

    public void Connected(string clusterId, DnsEndPoint endPoint)
    {
        // Only a threshold above 1 counts refused connects that a success resets; by default there is nothing to do.
        if (!socketEjection.AnyCounting || !_clusters.TryGetValue(clusterId, out var cluster))
        {
            return;
        }

        foreach (var destination in cluster.Destinations.Values)
        {
            if (Connects(destination, endPoint))
            {
                socketEjection.Connected(destination);
            }
        }
    }

    /// <summary>Whether the destination's address is that socket endpoint (as SocketsHttpHandler builds it from the URI).</summary>
    private static bool Connects(DestinationState destination, DnsEndPoint endPoint) =>
        Uri.TryCreate(destination.Model?.Config.Address, UriKind.Absolute, out var address)
        && address.Port == endPoint.Port
        && string.Equals(address.IdnHost, endPoint.Host, StringComparison.OrdinalIgnoreCase);
}
