namespace Gateway.Configuration;

internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Configuration loaded from {Path}: {RouteCount} routes, {ClusterCount} clusters")]
    public static partial void ConfigLoaded(ILogger logger, string path, int routeCount, int clusterCount);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Configuration reloaded from {Path}: {RouteCount} routes, {ClusterCount} clusters")]
    public static partial void ConfigReloaded(ILogger logger, string path, int routeCount, int clusterCount);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "Configuration reload from {Path} rejected; the last good configuration keeps serving. {Errors}")]
    public static partial void ConfigRejected(ILogger logger, string path, string errors);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Configuration reload from {Path} failed unexpectedly; the last good configuration keeps serving")]
    public static partial void ConfigReloadFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Configuration from {Path} applied, but a change listener failed; the new configuration serves")]
    public static partial void ConfigListenerFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Configuration {Path}: {Problem}")]
    public static partial void UnknownKey(ILogger logger, string path, string problem);
}
