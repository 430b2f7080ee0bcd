namespace Gateway.CircuitBreaker;

/// <summary>A cluster's resolved breaker settings (cluster block over <c>Gateway:CircuitBreaker</c> over built-in values).</summary>
internal sealed record CircuitBreakerSettings(bool Enabled, int MaxConcurrentRequests, int MaxPendingRequests)
{
    public static CircuitBreakerSettings Resolve(CircuitBreakerOptions? cluster, CircuitBreakerOptions? defaults)
    {
        var max = cluster?.MaxConcurrentRequests ?? defaults?.MaxConcurrentRequests;
        var enabled = (cluster?.Enabled ?? defaults?.Enabled ?? true) && max is > 0;
        return new CircuitBreakerSettings(enabled, max ?? 0, cluster?.MaxPendingRequests ?? defaults?.MaxPendingRequests ?? 0);
    }
}
