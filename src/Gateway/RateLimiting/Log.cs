namespace Gateway.RateLimiting;

internal static partial class Log
{
    [LoggerMessage(EventId = 8101, Level = LogLevel.Warning, Message = "Rate limiting: Redis unavailable ({Reason}); policies apply their FailureMode (Local: per-replica limits) until it is back")]
    public static partial void RedisUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 8102, Level = LogLevel.Information, Message = "Rate limiting: Redis is back after {Seconds:F1} s; shared limits resumed")]
    public static partial void RedisResumed(ILogger logger, double seconds);

    [LoggerMessage(EventId = 8103, Level = LogLevel.Information, Message = "Rate-limit policy '{Policy}' reloaded: {Algorithm}, PermitLimit {PermitLimit}, Window {Window}; applies from each partition's next request")]
    public static partial void PolicyReloaded(ILogger logger, string policy, string algorithm, int permitLimit, TimeSpan window);

    [LoggerMessage(EventId = 8104, Level = LogLevel.Information, Message = "Rate limiting: shared limits ready (Redis scripts loaded)")]
    public static partial void SharedLimitsReady(ILogger logger);
}
