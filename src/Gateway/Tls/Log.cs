namespace Gateway.Tls;

internal static partial class Log
{
    [LoggerMessage(EventId = 9301, Level = LogLevel.Information, Message = "Listener '{Endpoint}': TLS with rotating certificates ({Names}), {Protocols}")]
    public static partial void ListenerTls(ILogger logger, string endpoint, string names, string protocols);

    [LoggerMessage(EventId = 9302, Level = LogLevel.Information, Message = "Listener '{Endpoint}': TLS left to Kestrel, certificates not rotated ({Why})")]
    public static partial void ListenerTlsLeftToKestrel(ILogger logger, string endpoint, string why);

    [LoggerMessage(EventId = 9303, Level = LogLevel.Information, Message = "{Owner}, certificate '{Name}': now {Subject}, valid until {NotAfter:u} (files changed)")]
    public static partial void CertificateRotated(ILogger logger, string owner, string name, string subject, DateTime notAfter);

    [LoggerMessage(EventId = 9304, Level = LogLevel.Warning, Message = "{Owner}, certificate '{Name}': the changed files were rejected, the last good certificate keeps serving: {Error}")]
    public static partial void CertificateRejected(ILogger logger, string owner, string name, string error);

    [LoggerMessage(EventId = 9305, Level = LogLevel.Error, Message = "{Owner}, certificate '{Name}': checking the files failed; the last good certificate keeps serving")]
    public static partial void CertificateCheckFailed(ILogger logger, string owner, string name, Exception exception);
}
