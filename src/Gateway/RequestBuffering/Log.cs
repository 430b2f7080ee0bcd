namespace Gateway.RequestBuffering;

internal static partial class Log
{
    // Client-caused: Debug, never a stack trace (anyone can send a broken body); the counter has the numbers.
    [LoggerMessage(EventId = 9701, Level = LogLevel.Debug, Message = "Route '{RouteId}': request body refused before forwarding ({Result}): {Reason}")]
    public static partial void BodyRefused(ILogger logger, string routeId, string result, string reason);
}
