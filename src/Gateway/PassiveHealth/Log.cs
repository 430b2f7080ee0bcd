namespace Gateway.PassiveHealth;

internal static partial class Log
{
    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Cluster '{ClusterId}': destination '{DestinationId}' ejected for {Period} after {Failures} consecutive failures (ejection #{Ejections} in a row)")]
    public static partial void Ejected(ILogger logger, string clusterId, string destinationId, TimeSpan period, int failures, int ejections);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Information, Message = "Cluster '{ClusterId}': destination '{DestinationId}' answered again after reactivation; back-off reset")]
    public static partial void Recovered(ILogger logger, string clusterId, string destinationId);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Warning, Message = "Cluster '{ClusterId}': destination '{DestinationId}' ejected for {Period} at the socket: connect refused (passive policy {Policy})")]
    public static partial void EjectedAtSocket(ILogger logger, string clusterId, string destinationId, TimeSpan period, string policy);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Information, Message = "Cluster '{ClusterId}': destination '{DestinationId}' back in rotation after its ejection at the socket")]
    public static partial void ReactivatedAtSocket(ILogger logger, string clusterId, string destinationId);
}
