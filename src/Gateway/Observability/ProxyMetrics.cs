// The per-request proxy instruments. Recorded once per proxied request (and once per upstream attempt); every tag
// value is a config id or one of a fixed set of strings, so series are bounded by the config, not by traffic.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Observability;

internal sealed class ProxyMetrics
{
    /// <summary>Sub-millisecond (cache hits, 304s on loopback) to 30 s (slow uploads, long polls cut by timeouts).</summary>
    internal static readonly IReadOnlyList<double> DurationBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private const string NoDestination = "none";

    private static readonly string[] StatusClasses = ["other", "1xx", "2xx", "3xx", "4xx", "5xx"];

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _upstreamDuration;
    private readonly Counter<long> _errors;

    // The errors that mean the upstream side failed; client-side kinds (ResponseBodyClient, ...) are counted when they occur.
    private static readonly ForwarderError[] SeededErrors =
    [
        ForwarderError.Request, ForwarderError.RequestTimedOut, ForwarderError.NoAvailableDestinations,
        ForwarderError.RequestBodyDestination, ForwarderError.ResponseBodyDestination, ForwarderError.ResponseHeaders,
    ];

    public ProxyMetrics(IMeterFactory meterFactory, KnownSeries? knownSeries = null)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        var advice = new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets };
        _requests = meter.CreateCounter<long>("gateway.proxy.requests", "{request}", "Proxied requests by route, cluster, destination, status class, method and gRPC status.");
        _requestDuration = meter.CreateHistogram("gateway.proxy.request.duration", "s", "Proxied request duration, from the proxy pipeline to the end of the response body.", tags: null, advice);
        _upstreamDuration = meter.CreateHistogram("gateway.proxy.upstream.duration", "s", "Upstream attempt duration, from sending the request upstream to the end of the response body.", tags: null, advice);
        _errors = meter.CreateCounter<long>("gateway.proxy.errors", "{error}", "Proxied requests that failed in the forwarder, by YARP ForwarderError.");
        knownSeries?.Add(Seed);
    }

    /// <summary>Every route's upstream-side error kinds at 0, so an error-rate alert sees the first one.</summary>
    private void Seed(Yarp.ReverseProxy.IProxyStateLookup state)
    {
        foreach (var route in state.GetRoutes())
        {
            if (route.Cluster?.ClusterId is not { } cluster)
            {
                continue;
            }

            foreach (var error in SeededErrors)
            {
                _errors.Add(0, new TagList { { "route", route.Config.RouteId }, { "cluster", cluster }, { "error", ErrorName(error) } });
            }
        }
    }

    /// <param name="grpcStatus">A <see cref="GrpcStatusLabel"/> value: one of 18 fixed strings.</param>
    public void RequestCompleted(string route, string cluster, string? destination, int statusCode, string method, string grpcStatus, ForwarderError error, TimeSpan elapsed)
    {
        var tags = new TagList
        {
            { "route", route },
            { "cluster", cluster },
            { "destination", destination ?? NoDestination },
            { "status_class", StatusClass(statusCode) },
            { "method", KnownMethod(method) },
        };

        // The counter only: on the histogram, grpc_status would multiply every bucket series of a gRPC route by its codes.
        var requestTags = tags;
        requestTags.Add("grpc_status", grpcStatus);
        _requests.Add(1, requestTags);
        _requestDuration.Record(elapsed.TotalSeconds, tags);

        if (error != ForwarderError.None)
        {
            _errors.Add(1, new TagList { { "route", route }, { "cluster", cluster }, { "error", ErrorName(error) } });
        }
    }

    public void UpstreamCompleted(string cluster, string? destination, TimeSpan elapsed) =>
        _upstreamDuration.Record(elapsed.TotalSeconds, new TagList { { "cluster", cluster }, { "destination", destination ?? NoDestination } });

    internal static string StatusClass(int statusCode) =>
        statusCode is >= 100 and < 600 ? StatusClasses[statusCode / 100] : StatusClasses[0];

    /// <summary>Known methods as their interned constants (no allocation); anything else is "OTHER", so a client cannot add series.</summary>
    internal static string KnownMethod(string method)
    {
        method = HttpMethods.GetCanonicalizedValue(method);
        return ReferenceEquals(method, HttpMethods.Get) || ReferenceEquals(method, HttpMethods.Post) || ReferenceEquals(method, HttpMethods.Put)
            || ReferenceEquals(method, HttpMethods.Delete) || ReferenceEquals(method, HttpMethods.Patch) || ReferenceEquals(method, HttpMethods.Head)
            || ReferenceEquals(method, HttpMethods.Options) || ReferenceEquals(method, HttpMethods.Trace) || ReferenceEquals(method, HttpMethods.Connect)
            ? method
            : "OTHER";
    }

    internal static string ErrorName(ForwarderError error) => ForwarderErrorNames.Of(error);
}
