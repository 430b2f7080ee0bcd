namespace Gateway.Observability;

internal static partial class Log
{
    [LoggerMessage(EventId = 6000, Level = LogLevel.Information, Message = "Per-request metrics are off (Gateway:Telemetry:Metrics=false); only scrape-time gauges are exported")]
    public static partial void PerRequestMetricsOff(ILogger logger);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Exporting traces over OTLP ({Protocol}) to {Endpoint}; new traces sampled at ratio {Ratio}, callers' decisions followed")]
    public static partial void OtlpTracesOn(ILogger logger, string endpoint, OtlpProtocol protocol, double ratio);
}
