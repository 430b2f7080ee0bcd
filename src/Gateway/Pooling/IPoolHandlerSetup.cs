// A capability's part in building a cluster's pool (e.g. TLS to the upstream: trust, client certificate, server name)
// and in deciding whether a reload keeps it: a change to the settings it returns rebuilds the pool, and the old one is
// retired like any replaced pool (its in-flight requests finish on it).
namespace Gateway.Pooling;

internal interface IPoolHandlerSetup
{
    /// <summary>Applies <paramref name="settings"/> (what <see cref="Settings"/> returned, never null) to a new pool's handler.</summary>
    void Configure(string clusterId, object settings, SocketsHttpHandler handler);

    /// <summary>
    /// This capability's settings for the cluster, from its config as YARP hands it (blocks in <paramref name="metadata"/>),
    /// compared by value (a record), or null when it has none.
    /// </summary>
    object? Settings(string clusterId, IReadOnlyDictionary<string, string>? metadata);
}
