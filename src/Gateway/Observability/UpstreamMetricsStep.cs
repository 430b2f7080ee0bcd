// The last step before YARP's forwarder: gateway.proxy.upstream.duration per attempt (retries pass through it again).
using System.Diagnostics;
using Gateway.Foundation;

namespace Gateway.Observability;

internal sealed class UpstreamMetricsStep(ProxyMetrics metrics) : IRequestStep
{
    public Task InvokeAsync(HttpContext context, RequestDelegate next) =>
        RequestCompletion.InvokeThen(next, context, (metrics, Stopwatch.GetTimestamp()), static (c, s) => Record(s.metrics, c, s.Item2));

    private static void Record(ProxyMetrics metrics, HttpContext context, long start)
    {
        var proxy = context.GetReverseProxyFeature();
        // No destination: the forwarder never sent anything upstream (e.g. no available destinations).
        if (proxy.ProxiedDestination is { } destination && proxy.Cluster is { } cluster)
        {
            metrics.UpstreamCompleted(cluster.Config.ClusterId, destination.DestinationId, Stopwatch.GetElapsedTime(start));
        }
    }
}
