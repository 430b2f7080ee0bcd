// Gap: YARP's passive health policies hear of a failed request only once its error has travelled up through
// SocketsHttpHandler and the forwarder. The first time, in a running process, that path is cold (JIT, exception
// machinery) and took 40-60 ms under test load, while load balancing kept sending requests to the dead destination.
// A refused connect is known at the socket: eject there.
using System.Net;
using System.Net.Sockets;
using Gateway.Pooling;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace Gateway.PassiveHealth;

internal sealed class ConnectFailureEjection(IServiceProvider services, ConsecutiveFailuresPolicy policy) : IUpstreamConnectObserver
{
    // Resolved on first use: YARP's proxy state is built from the pool factory that reports to us.
    private IProxyStateLookup? _proxyState;

    public void ConnectFailed(string clusterId, DnsEndPoint endPoint, SocketError error)
    {
        // Nothing listens there (or no route to it): the same evidence the policy counts as a connect failure.
        if (error is not (SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable))
        {
            return;
        }

        _proxyState ??= services.GetRequiredService<IProxyStateLookup>();
        if (!_proxyState.TryGetCluster(clusterId, out var cluster)
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
