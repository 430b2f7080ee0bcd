namespace Gateway.AccessLog;

internal static partial class Log
{
    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Access log on: one JSON line per proxy-listener request on stdout, {SampleRate} of successes (errors always), buffer of {BufferSize} lines (Gateway:AccessLog)")]
    public static partial void AccessLogOn(ILogger logger, double sampleRate, int bufferSize);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Gateway:AccessLog:Enabled, Format or BufferSize changed in a reload; they are read at start, restart the gateway to apply them")]
    public static partial void RestartNeeded(ILogger logger);

    // From the writer's thread, at most once a minute, never from a request.
    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "{Count} access-log lines dropped since the last report: stdout is slower than the traffic (gateway_access_log_dropped_total counts them)")]
    public static partial void LinesDropped(ILogger logger, long count);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Error, Message = "Access-log lines could not be written to stdout; they are counted as dropped")]
    public static partial void WriteFailed(ILogger logger, Exception exception);
}
