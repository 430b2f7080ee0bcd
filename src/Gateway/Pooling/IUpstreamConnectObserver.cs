using System.Net;
using System.Net.Sockets;

namespace Gateway.Pooling;

/// <summary>
/// Told by a cluster's pool when a TCP connect to an upstream fails at the socket, before the error has travelled up
/// through SocketsHttpHandler and YARP's forwarder to the passive health check, and when one succeeds. Must not throw.
/// </summary>
internal interface IUpstreamConnectObserver
{
    void ConnectFailed(string clusterId, DnsEndPoint endPoint, SocketError error);

    /// <summary>Once per new connection (not per request); keep it cheap.</summary>
    void Connected(string clusterId, DnsEndPoint endPoint)
    {
    }
}
