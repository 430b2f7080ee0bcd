namespace Gateway.Hardening;

internal static partial class Log
{
    [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "Proxy listener connection refused: {Max} connections already open (Gateway:Limits:MaxConcurrentConnections)")]
    public static partial void ConnectionRejected(ILogger logger, long max);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Information, Message = "Forwarded headers are honoured from {ProxyCount} known proxies and {NetworkCount} known networks (Gateway:ForwardedHeaders)")]
    public static partial void TrustedProxies(ILogger logger, int proxyCount, int networkCount);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Warning, Message = "Gateway:Limits or Gateway:ForwardedHeaders changed in a reload; Kestrel reads them at start, restart the gateway to apply them")]
    public static partial void RestartNeeded(ILogger logger);

    // Debug: clients cause these; the reason is fixed text, never a header value.
    [LoggerMessage(EventId = 9104, Level = LogLevel.Debug, Message = "Request rejected with 400 before forwarding: {Reason}")]
    public static partial void RequestRejected(ILogger logger, string reason);
}
