// The first step of the proxy pipeline: one gateway.proxy.requests / request.duration / errors record per request.
using System.Diagnostics;
using Gateway.Foundation;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Observability;

internal sealed class ProxyMetricsStep(ProxyMetrics metrics) : IRequestStep
{
    public Task InvokeAsync(HttpContext context, RequestDelegate next) =>
        RequestCompletion.InvokeThen(next, context, (metrics, Stopwatch.GetTimestamp()), static (c, s) => Record(s.metrics, c, s.Item2));

    private static void Record(ProxyMetrics metrics, HttpContext context, long start)
    {
        var proxy = context.GetReverseProxyFeature();
        var error = context.Features.Get<IForwarderErrorFeature>()?.Error ?? ForwarderError.None;
        metrics.RequestCompleted(
            proxy.Route.Config.RouteId,
            proxy.Cluster?.Config.ClusterId ?? "none",
            proxy.ProxiedDestination?.DestinationId,
            context.Response.StatusCode,
            context.Request.Method,
            GrpcStatusLabel.Of(context),
            error,
            Stopwatch.GetElapsedTime(start));
    }
}
