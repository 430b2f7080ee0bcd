namespace Gateway.TrafficSplit;

internal static partial class Log
{
    [LoggerMessage(EventId = 9501, Level = LogLevel.Warning, Message = "Route '{RouteId}': no cohort cookie issued, the key ring is unavailable ({Reason}); the session is not sticky until it is")]
    public static partial void CohortNotIssued(ILogger logger, string routeId, string reason);

    [LoggerMessage(EventId = 9502, Level = LogLevel.Debug, Message = "Route '{RouteId}': mirrored copy to '{ClusterId}' failed ({Error})")]
    public static partial void MirrorFailed(ILogger logger, string routeId, string clusterId, string error);
}
