using Gateway.Foundation;

namespace Gateway.CircuitBreaker;

/// <summary>
/// A cluster's circuit breaker: a bound on the requests in flight to it, so a slow upstream makes requests fail fast
/// with <c>503 {"error":"circuit_open"}</c> instead of piling up. <c>Gateway:CircuitBreaker</c> holds the defaults for
/// every cluster; <c>ReverseProxy:Clusters:&lt;id&gt;:CircuitBreaker</c> overrides any of them for one cluster. Off
/// unless <see cref="MaxConcurrentRequests"/> is set. Limits are per replica.
/// </summary>
internal sealed class CircuitBreakerOptions : IConfigBindable<CircuitBreakerOptions>
{
    public static CircuitBreakerOptions Read(IConfiguration section) => section.Get<CircuitBreakerOptions>() ?? new();

    public const string DefaultsSectionPath = "Gateway:CircuitBreaker";
    public const string ClusterBlockName = "CircuitBreaker";

    /// <summary>The per-cluster block with its defaults, as the config reader validates and carries it.</summary>
    public static readonly ExtensionBlock<CircuitBreakerOptions> Block = new(
        ExtensionScope.Cluster, ClusterBlockName, DefaultsSectionPath, static (options, block, errors) => CircuitBreakerValidation.Validate(options, block.Path, errors));

    /// <summary>Apply the limits (built-in: true). Set false to turn the breaker off for a cluster that the defaults limit.</summary>
    public bool? Enabled { get; set; }

    /// <summary>
    /// Requests forwarded to the cluster at once, from the moment one is admitted to the end of its response body (retries
    /// of a request included in its one place; an upgraded WebSocket holds its place while it is open). Unset: no limit.
    /// </summary>
    public int? MaxConcurrentRequests { get; set; }

    /// <summary>
    /// Requests that may wait, oldest first, for a place when <see cref="MaxConcurrentRequests"/> are in flight (built-in: 0:
    /// none wait). Beyond both, a request is answered 503 at once. A waiting request waits until a place frees, its client
    /// leaves, or its route's Timeout fires (then 503 too).
    /// </summary>
    public int? MaxPendingRequests { get; set; }
}
