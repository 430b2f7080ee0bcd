using Gateway.Foundation;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Pooling;

/// <summary>The resolved settings a pool was built with; record equality decides whether a reload keeps the pool.</summary>
internal sealed record PoolSettings(
    int MaxConnectionsPerServer,
    TimeSpan IdleTimeout,
    TimeSpan Lifetime,
    TimeSpan ConnectTimeout,
    bool EnableMultipleHttp2Connections,
    TimeSpan KeepAlivePingDelay,
    TimeSpan KeepAlivePingTimeout,
    TimeSpan ResponseDrainTimeout,
    int MaxResponseHeadersLength)
{
    public static readonly TimeSpan DefaultRetirementGracePeriod = TimeSpan.FromSeconds(30);

    public static PoolSettings Resolve(ConnectionPoolOptions? cluster, ConnectionPoolOptions defaults, HttpClientConfig? yarp) => new(
        cluster?.MaxConnectionsPerServer ?? yarp?.MaxConnectionsPerServer ?? defaults.MaxConnectionsPerServer ?? int.MaxValue,
        cluster?.IdleTimeout ?? defaults.IdleTimeout ?? TimeSpan.FromMinutes(1),
        cluster?.Lifetime ?? defaults.Lifetime ?? TimeSpan.FromMinutes(5),
        cluster?.ConnectTimeout ?? defaults.ConnectTimeout ?? TimeSpan.FromSeconds(5),
        cluster?.EnableMultipleHttp2Connections ?? yarp?.EnableMultipleHttp2Connections ?? defaults.EnableMultipleHttp2Connections ?? true,
        cluster?.KeepAlivePingDelay ?? defaults.KeepAlivePingDelay ?? Timeout.InfiniteTimeSpan,
        cluster?.KeepAlivePingTimeout ?? defaults.KeepAlivePingTimeout ?? TimeSpan.FromSeconds(20),
        cluster?.ResponseDrainTimeout ?? defaults.ResponseDrainTimeout ?? TimeSpan.FromSeconds(2),
        cluster?.MaxResponseHeadersLength ?? defaults.MaxResponseHeadersLength ?? 64);

    /// <summary>
    /// The settings as <c>GET /admin/clusters</c> shows them: null where a setting is unlimited or off
    /// (MaxConnectionsPerServer, KeepAlivePingDelay by default), not the sentinel SocketsHttpHandler takes for it.
    /// </summary>
    public System.Text.Json.Nodes.JsonObject ToAdminJson() => new()
    {
        ["maxConnectionsPerServer"] = AdminJson.Limit(MaxConnectionsPerServer),
        ["idleTimeout"] = AdminJson.Duration(IdleTimeout),
        ["lifetime"] = AdminJson.Duration(Lifetime),
        ["connectTimeout"] = AdminJson.Duration(ConnectTimeout),
        ["enableMultipleHttp2Connections"] = EnableMultipleHttp2Connections,
        ["keepAlivePingDelay"] = AdminJson.Duration(KeepAlivePingDelay),
        ["keepAlivePingTimeout"] = AdminJson.Duration(KeepAlivePingTimeout),
        ["responseDrainTimeout"] = AdminJson.Duration(ResponseDrainTimeout),
        ["maxResponseHeadersLength"] = MaxResponseHeadersLength,
    };
}
