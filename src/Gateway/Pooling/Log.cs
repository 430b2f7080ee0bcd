namespace Gateway.Pooling;

internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Cluster '{ClusterId}': new connection pool #{Generation} ({Reason})")]
    public static partial void PoolCreated(ILogger logger, string clusterId, int generation, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "Cluster '{ClusterId}': pool #{Generation} kept across reload")]
    public static partial void PoolReused(ILogger logger, string clusterId, int generation);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Cluster '{ClusterId}': retiring pool #{Generation} ({Reason}); {InFlight} requests in flight")]
    public static partial void PoolRetiring(ILogger logger, string clusterId, int generation, string reason, int inFlight);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Cluster '{ClusterId}': pool #{Generation} disposed after {ElapsedMs:F0} ms; {Cut} requests were still in flight")]
    public static partial void PoolRetired(ILogger logger, string clusterId, int generation, double elapsedMs, int cut);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "Cluster '{ClusterId}': pool #{Generation} retirement: {WebSockets} WebSockets closed with 1001 Going Away at both ends, {EventStreams} event streams ended, {GrpcCalls} gRPC calls ended with UNAVAILABLE; {Aborted} streams did not finish in time and were aborted")]
    public static partial void PoolStreamsClosed(ILogger logger, string clusterId, int generation, int webSockets, int eventStreams, int grpcCalls, int aborted);
}
