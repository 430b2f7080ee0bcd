namespace Gateway.Affinity;

internal static partial class Log
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Affinity key ring ready: application '{ApplicationName}', keys in {Location}")]
    public static partial void KeyRingReady(ILogger logger, string applicationName, string location);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Affinity key ring in {Location} not loaded yet (attempt {Attempt}, {Error}); new affinity cookies cannot be issued until it is")]
    public static partial void KeyRingUnavailable(ILogger logger, string location, int attempt, string error);

    // Never the cookie value.
    [LoggerMessage(EventId = 5020, Level = LogLevel.Debug, Message = "Cluster '{ClusterId}': unreadable affinity cookie treated as none; request re-pinned")]
    public static partial void UnreadableAffinityCookie(ILogger logger, string clusterId);

    [LoggerMessage(EventId = 5021, Level = LogLevel.Debug, Message = "Cluster '{ClusterId}': pinned destination unavailable, handled by failure policy '{Policy}'")]
    public static partial void PinnedDestinationUnavailable(ILogger logger, string clusterId, string policy);
}
