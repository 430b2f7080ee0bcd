namespace Gateway.CircuitBreaker;

internal static partial class Log
{
    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "Cluster '{ClusterId}': circuit open, {Rejected} requests answered 503 since the last report ({MaxConcurrentRequests} in flight and {MaxPendingRequests} waiting at most)")]
    public static partial void CircuitOpen(ILogger logger, string clusterId, long rejected, int maxConcurrentRequests, int maxPendingRequests);
}
