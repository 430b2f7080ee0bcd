using Gateway.Foundation;

namespace Gateway.Pooling;

/// <summary>
/// Connection-pool settings. <c>Gateway:ConnectionPool</c> holds the defaults for every cluster;
/// <c>ReverseProxy:Clusters:&lt;id&gt;:ConnectionPool</c> overrides any of them for one cluster.
/// Unset values fall back to the defaults, then to YARP's <c>HttpClient</c> block, then to the built-in values below.
/// </summary>
internal sealed class ConnectionPoolOptions : IConfigBindable<ConnectionPoolOptions>
{
    public static ConnectionPoolOptions Read(IConfiguration section) => section.Get<ConnectionPoolOptions>() ?? new();

    public const string DefaultsSectionPath = "Gateway:ConnectionPool";
    public const string ClusterBlockName = "ConnectionPool";

    /// <summary>The per-cluster block with its defaults, as the config reader validates and carries it.</summary>
    public static readonly ExtensionBlock<ConnectionPoolOptions> Block = new(
        ExtensionScope.Cluster, ClusterBlockName, DefaultsSectionPath, static (options, block, errors) => ConnectionPoolValidation.ValidateClusterBlock(options, block.Path, errors));

    /// <summary>Cap on connections per destination (built-in: unlimited). Lower it to protect a fragile upstream.</summary>
    public int? MaxConnectionsPerServer { get; set; }

    /// <summary>Close a connection idle this long (built-in: 00:01:00). Keep it below the upstream's own keep-alive timeout.</summary>
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>
    /// Replace a connection after this long, even if busy (built-in: 00:05:00; YARP's default is never).
    /// Lets Kubernetes endpoint and DNS changes take effect and spreads load onto new pods.
    /// </summary>
    public TimeSpan? Lifetime { get; set; }

    /// <summary>Give up connecting after this long (built-in: 00:00:05; YARP's default is 15 s, long for in-cluster hops).</summary>
    public TimeSpan? ConnectTimeout { get; set; }

    /// <summary>Open more HTTP/2 connections when one hits the stream limit (built-in: true, as YARP).</summary>
    public bool? EnableMultipleHttp2Connections { get; set; }

    /// <summary>HTTP/2 keep-alive ping interval (built-in: off).</summary>
    public TimeSpan? KeepAlivePingDelay { get; set; }

    /// <summary>HTTP/2 keep-alive ping timeout (built-in: 00:00:20).</summary>
    public TimeSpan? KeepAlivePingTimeout { get; set; }

    /// <summary>How long to drain an unread response body so its connection can be reused (built-in: 00:00:02).</summary>
    public TimeSpan? ResponseDrainTimeout { get; set; }

    /// <summary>Largest upstream response header block, in KiB (built-in: 64).</summary>
    public int? MaxResponseHeadersLength { get; set; }

    /// <summary>
    /// Only in <c>Gateway:ConnectionPool</c>: how long a replaced pool may finish in-flight requests before it is
    /// disposed and its connections closed (built-in: 00:00:30).
    /// </summary>
    public TimeSpan? RetirementGracePeriod { get; set; }
}
