using Microsoft.Extensions.Logging;

namespace Gateway.Discovery;

/// <summary>Discovery log events: 9201-9299 (9001 is the demo upstreams', 91xx hardening's).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 9201, Level = LogLevel.Information, Message = "Discovery {Source} {Target}: {Count} endpoints ({Ready} ready, {Draining} draining, {NotReady} not ready) after {Reason}")]
    public static partial void EndpointsChanged(ILogger logger, string source, string target, int count, int ready, int draining, int notReady, string reason);

    [LoggerMessage(EventId = 9202, Level = LogLevel.Warning, Message = "Discovery {Source} {Target}: {Operation} failed ({Failures} in a row): {Error}; keeping the last {Count} endpoints, retrying in {Delay}")]
    public static partial void LookupFailed(ILogger logger, string source, string target, string operation, int failures, string error, int count, TimeSpan delay);

    [LoggerMessage(EventId = 9203, Level = LogLevel.Information, Message = "Discovery {Source} {Target}: recovered after {Failures} failed attempts")]
    public static partial void Recovered(ILogger logger, string source, string target, int failures);

    [LoggerMessage(EventId = 9204, Level = LogLevel.Information, Message = "Discovery kubernetes {Target}: resourceVersion {ResourceVersion} is gone (410 Expired); listing again")]
    public static partial void WatchExpired(ILogger logger, string target, string? resourceVersion);

    [LoggerMessage(EventId = 9205, Level = LogLevel.Error, Message = "Discovery kubernetes {Target}: {Error}")]
    public static partial void PortNotFound(ILogger logger, string target, string error);

    [LoggerMessage(EventId = 9206, Level = LogLevel.Warning, Message = "Discovery kubernetes {Target}: no EndpointSlices labelled kubernetes.io/service-name={Service} in namespace {Namespace}; the set is empty")]
    public static partial void NoSlices(ILogger logger, string target, string service, string @namespace);

    [LoggerMessage(EventId = 9207, Level = LogLevel.Debug, Message = "Discovery kubernetes {Target}: watch from resourceVersion {ResourceVersion} ended ({Why}); watching again")]
    public static partial void WatchEnded(ILogger logger, string target, string? resourceVersion, string why);

    [LoggerMessage(EventId = 9208, Level = LogLevel.Debug, Message = "Discovery kubernetes {Target}: bookmark at resourceVersion {ResourceVersion}")]
    public static partial void Bookmark(ILogger logger, string target, string? resourceVersion);

    [LoggerMessage(EventId = 9209, Level = LogLevel.Warning, Message = "Discovery kubernetes {Target}: the watch reported an error ({Error}); listing again")]
    public static partial void WatchError(ILogger logger, string target, string error);

    [LoggerMessage(EventId = 9210, Level = LogLevel.Error, Message = "Discovery {Source} {Target}: the update callback threw; the set stays published")]
    public static partial void CallbackFailed(ILogger logger, Exception exception, string source, string target);

    [LoggerMessage(EventId = 9211, Level = LogLevel.Information, Message = "Discovery kubernetes: credentials from {Origin}, API server {Host}")]
    public static partial void KubernetesCredentials(ILogger logger, string origin, string host);

    [LoggerMessage(EventId = 9212, Level = LogLevel.Debug, Message = "Discovery dns {Target}: {Count} addresses, next lookup in {Delay} (ttl {Ttl})")]
    public static partial void DnsRefreshed(ILogger logger, string target, int count, TimeSpan delay, TimeSpan? ttl);

    [LoggerMessage(EventId = 9220, Level = LogLevel.Information, Message = "Cluster '{ClusterId}': destinations from {Source} {Target}")]
    public static partial void DiscoveryStarted(ILogger logger, string clusterId, string source, string target);

    [LoggerMessage(EventId = 9221, Level = LogLevel.Information, Message = "Cluster '{ClusterId}': discovery stopped ({Why})")]
    public static partial void DiscoveryStopped(ILogger logger, string clusterId, string why);

    [LoggerMessage(EventId = 9222, Level = LogLevel.Error, Message = "Cluster '{ClusterId}': discovery cannot start: {Error}; the cluster keeps only its static destinations until the config changes")]
    public static partial void DiscoveryNotStarted(ILogger logger, string clusterId, string error);

    [LoggerMessage(EventId = 9223, Level = LogLevel.Information, Message = "Cluster '{ClusterId}': endpoint '{DestinationId}' is gone; closed its {Closed} pooled connections after {ElapsedMs:F0} ms")]
    public static partial void RemovedEndpointConnectionsClosed(ILogger logger, string clusterId, string destinationId, int closed, double elapsedMs);
}
