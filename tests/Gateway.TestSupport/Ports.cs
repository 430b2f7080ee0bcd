using System.Net;
using System.Net.Sockets;

namespace Gateway.TestSupport;

public static class Ports
{
    /// <summary>A loopback port that was free a moment ago (the OS picks it, so collisions are unlikely).</summary>
    public static int GetFree()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
