namespace Gateway.Authentication;

internal static partial class Log
{
    [LoggerMessage(EventId = 9901, Level = LogLevel.Information, Message = "Authentication scheme '{Scheme}' {Change}")]
    public static partial void SchemeChanged(ILogger logger, string scheme, string change);

    [LoggerMessage(EventId = 9902, Level = LogLevel.Information, Message = "Authorization policies reloaded: {Count} named")]
    public static partial void PoliciesReloaded(ILogger logger, int count);

    [LoggerMessage(EventId = 9903, Level = LogLevel.Warning, Message = "Route '{Route}': claim '{Claim}' has a value that cannot be sent in header {Header} (control or non-ASCII characters); the header is left out")]
    public static partial void ClaimNotHeaderSafe(ILogger logger, string route, string claim, string header);
}
