namespace Gateway.DestinationDraining;

internal static partial class Log
{
    [LoggerMessage(EventId = 5010, Level = LogLevel.Information, Message = "Destination '{ClusterId}/{DestinationId}' draining={Draining} (from {Source})")]
    public static partial void DrainChanged(ILogger logger, string clusterId, string destinationId, bool draining, string source);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning, Message = "Drain mark for '{ClusterId}/{DestinationId}' not stored: Redis unavailable ({Error})")]
    public static partial void DrainWriteFailed(ILogger logger, string clusterId, string destinationId, string error);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Warning, Message = "Cannot subscribe to drain notifications yet ({Error}); retrying")]
    public static partial void DrainSubscribeFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 5013, Level = LogLevel.Warning, Message = "Cannot load shared drain marks ({Error}); keeping the current ones")]
    public static partial void DrainLoadFailed(ILogger logger, string error);
}
