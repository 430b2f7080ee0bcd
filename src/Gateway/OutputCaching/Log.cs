namespace Gateway.OutputCaching;

internal static partial class Log
{
    [LoggerMessage(EventId = 9801, Level = LogLevel.Warning, Message = "Output cache: Redis unavailable ({Reason}); requests are forwarded uncached until it is back")]
    public static partial void StoreUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 9802, Level = LogLevel.Information, Message = "Output cache: Redis is back; shared entries are served again")]
    public static partial void StoreResumed(ILogger logger);

    [LoggerMessage(EventId = 9803, Level = LogLevel.Information, Message = "Output-cache policy '{Policy}' reloaded: Expire {Expire}; applies from the next request")]
    public static partial void PolicyReloaded(ILogger logger, string policy, TimeSpan expire);

    [LoggerMessage(EventId = 9804, Level = LogLevel.Information, Message = "Output cache: Redis store ready")]
    public static partial void StoreReady(ILogger logger);
}
