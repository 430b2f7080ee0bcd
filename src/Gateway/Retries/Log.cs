namespace Gateway.Retries;

internal static partial class Log
{
    [LoggerMessage(EventId = 7001, Level = LogLevel.Debug, Message = "Cluster '{ClusterId}': retrying on '{DestinationId}' after '{FailedDestinationId}' failed ({Error})")]
    public static partial void Retrying(ILogger logger, string clusterId, string destinationId, string failedDestinationId, string error);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Cluster '{ClusterId}': retry budget exhausted; not retrying the failure on '{DestinationId}'")]
    public static partial void BudgetExhausted(ILogger logger, string clusterId, string destinationId);
}
