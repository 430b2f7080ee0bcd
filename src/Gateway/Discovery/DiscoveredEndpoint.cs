namespace Gateway.Discovery;

/// <summary>What a discovery source says about one endpoint.</summary>
internal enum EndpointCondition
{
    /// <summary>In rotation: new requests and sessions may go here.</summary>
    Ready = 0,

    /// <summary>Serving but terminating (a pod shutting down): keeps pinned sessions, takes no new ones.</summary>
    Draining = 1,

    /// <summary>Known but not serving (failing readiness, or terminating and no longer serving).</summary>
    NotReady = 2,
}

/// <summary>
/// One discovered destination. <see cref="Id"/> is stable across updates (the pod name for Kubernetes, <c>ip:port</c> for DNS),
/// so a consumer can diff two sets by id; <see cref="Address"/> is an absolute URL such as <c>http://10.0.0.5:8080</c>.
/// </summary>
internal sealed record DiscoveredEndpoint(string Id, string Address, EndpointCondition Condition, string Source)
{
    public const string KubernetesSource = "kubernetes";
    public const string DnsSource = "dns";
}

/// <summary>
/// A new full endpoint set, published only when it differs from the previous one (and always once, after the first successful
/// lookup, even if empty). <see cref="Endpoints"/> is ordered by id. <see cref="Reason"/> says what produced it
/// ("initial list", "watch MODIFIED orders-7x2kq", "relist after 410 Gone", "periodic resync", "dns refresh", ...).
/// </summary>
internal sealed record DiscoveryUpdate(IReadOnlyList<DiscoveredEndpoint> Endpoints, string Reason, DateTimeOffset At);

/// <summary>A point-in-time view of a discovery source, for metrics and the admin API.</summary>
/// <param name="Source">"kubernetes" or "dns".</param>
/// <param name="Target">What is watched: "shop/orders:http" or "orders.shop.svc.cluster.local:8080".</param>
/// <param name="HasSynced">At least one set has been published.</param>
/// <param name="EndpointCount">Endpoints in the last published set.</param>
/// <param name="UpdatesApplied">Sets published.</param>
/// <param name="UpdatesFailed">Failed attempts (API or DNS errors, a set refused as invalid); the last set was kept each time.</param>
/// <param name="ConsecutiveFailures">Failures since the last success; drives the back-off.</param>
/// <param name="LastError">The last failure's message (kept after recovery; compare <paramref name="LastErrorAt"/> and <paramref name="LastSuccessAt"/>).</param>
internal sealed record DiscoveryStatus(
    string Source,
    string Target,
    bool HasSynced,
    int EndpointCount,
    long UpdatesApplied,
    long UpdatesFailed,
    int ConsecutiveFailures,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    DateTimeOffset? LastSuccessAt);

/// <summary>A running discovery source. Start once; the callback given at construction is called on the source's own loop, one at a time.</summary>
internal interface IEndpointDiscovery : IAsyncDisposable
{
    string Source { get; }

    string Target { get; }

    /// <summary>The last published set (null before the first one).</summary>
    IReadOnlyList<DiscoveredEndpoint>? Current { get; }

    DiscoveryStatus Status { get; }

    void Start();

    Task StopAsync();
}
