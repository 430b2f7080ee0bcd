// Gap: YARP's passive health policies hear of a failed request only once its error has travelled up through
// SocketsHttpHandler and the forwarder. The first time, in a running process, that path is cold (JIT, exception
// machinery) and took 40-60 ms under test load, while load balancing kept sending requests to the dead destination.
// A refused connect is known at the socket: eject there.
// It learns YARP's clusters as a cluster-change listener, not from IProxyStateLookup: YARP's proxy state is built from
// the pool factory that reports to this class, so asking for it here would be a dependency cycle.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Gateway.Pooling;
using Yarp.ReverseProxy.Model;

namespace Gateway.PassiveHealth;

internal sealed class ConnectFailureEjection(ConsecutiveFailuresPolicy policy) : IUpstreamConnectObserver, IClusterChangeListener
{
    private readonly ConcurrentDictionary<string, ClusterState> _clusters = new(StringComparer.OrdinalIgnoreCase);

    public void OnClusterAdded(ClusterState cluster) => _clusters[cluster.ClusterId] = cluster;

    public void OnClusterChanged(ClusterState cluster) => _clusters[cluster.ClusterId] = cluster;

    public void OnClusterRemoved(ClusterState cluster) => _clusters.TryRemove(new KeyValuePair<string, ClusterState>(cluster.ClusterId, cluster));

    public void ConnectFailed(string clusterId, DnsEndPoint endPoint, SocketError error)
    {
        // Nothing listens there (or no route to it): the same evidence the policy counts as a connect failure.
        if (error is not (SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable))
        {
            return;
        }

        if (!_clusters.TryGetValue(clusterId, out var cluster)
            || cluster.Model.Config.HealthCheck?.Passive is not { Enabled: true } passive
            || !string.Equals(passive.Policy, ConsecutiveFailuresPolicy.PolicyName, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        foreach (var destination in cluster.Destinations.Values)
        {
            if (Connects(destination, endPoint))
            {
                policy.ConnectRefused(cluster, destination);
            }
        }
    }

    /// <summary>Whether the destination's address is that socket endpoint (as SocketsHttpHandler builds it from the URI).</summary>
    private static bool Connects(DestinationState destination, DnsEndPoint endPoint) =>
        Uri.TryCreate(destination.Model?.Config.Address, UriKind.Absolute, out var address)
        && address.Port == endPoint.Port
        && string.Equals(address.IdnHost, endPoint.Host, StringComparison.OrdinalIgnoreCase);
}
