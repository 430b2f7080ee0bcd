// Per-request code of the gateway's features, measured through the real classes (issue 11 target: 0 B allocated):
// drain-aware destination choice (Affinity/), proxy metrics recording (Observability/), rate-limit decision (RateLimiting/),
// the circuit breaker's admission (CircuitBreaker/).
// Run: tests/Gateway.Benchmarks/run.sh micro --filter '*FeatureBenchmarks*'
using System.Net;
using System.Threading.RateLimiting;
using BenchmarkDotNet.Attributes;
using System.Diagnostics.CodeAnalysis;
using Gateway.Affinity;
using Gateway.CircuitBreaker;
using Gateway.DestinationDraining;
using Gateway.Foundation;
using Gateway.Observability;
using Gateway.RateLimiting;
using Gateway.SharedState;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Gateway.Benchmarks.Micro;

[MemoryDiagnoser]
public class FeatureBenchmarks
{
    private ServiceProvider _services = null!;
    private MeterProvider _meterProvider = null!;

    private RequestDelegate _selection = null!;
    private RequestDelegate _selectionOneDraining = null!;
    private DefaultHttpContext _affinityContext = null!;
    private IReverseProxyFeature _affinityFeature = null!;
    private DestinationState[] _destinations = null!;

    private RequestDelegate _metricsPipeline = null!;
    private DefaultHttpContext _metricsContext = null!;

    private PartitionedRateLimiter<HttpContext> _policyLimiter = null!;
    private RequestDelegate _rateLimiterPipeline = null!;
    private DefaultHttpContext _loopbackClient = null!;
    private DefaultHttpContext _mappedClient = null!;
    private DefaultHttpContext _ipv4Client = null!;

    private CircuitBreakerStep _breaker = null!;
    private DefaultHttpContext _limitedContext = null!;
    private DefaultHttpContext _unlimitedContext = null!;

    private static readonly RequestDelegate Next = static _ => Task.CompletedTask;

    [GlobalSetup]
    public void Setup()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            // Local path: no Gateway:Redis:Configuration. A limit no benchmark run reaches, so every decision admits.
            ["Gateway:RateLimiting:Policies:bench:Algorithm"] = "FixedWindow",
            ["Gateway:RateLimiting:Policies:bench:PermitLimit"] = "2000000000",
            ["Gateway:RateLimiting:Policies:bench:Window"] = "1.00:00:00",
            ["Gateway:RateLimiting:Policies:bench:PartitionBy"] = "ClientIp",
        }).Build();

        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(config);
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IProxyStateLookup, NoProxyState>();
        services.AddGatewayOptions<TelemetryOptions, TelemetryOptionsValidator>(TelemetryOptions.SectionPath);
        services.AddSingleton<ProxyMetrics>();
        services.AddSingleton<DestinationHealthMetrics>();
        services.AddSingleton<ProxyMetricsStep>();
        services.AddSingleton<UpstreamMetricsStep>();
        services.AddSingleton<DestinationDrain>();
        services.AddSingleton<KnownSeries>();
        services.AddSingleton<AffinityMetrics>();
        services.AddSingleton<AffinityOutcomeStep>();
        services.AddSingleton<DrainAwareSelection>();
        services.AddSharedState();
        services.AddRateLimiting();
        services.AddSingleton<CircuitBreakers>();
        services.AddSingleton<CircuitBreakerMetrics>();
        services.AddSingleton<CircuitBreakerStep>();
        _services = services.BuildServiceProvider();

        // The OTel SDK aggregating the Gateway meter as in the gateway (exporter a no-op: no I/O measured), so every
        // instrument is enabled and each Add/Record goes through a real aggregator.
        _meterProvider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(GatewayMeter.Name)
            .AddReader(new PeriodicExportingMetricReader(new NullExporter(), exportIntervalMilliseconds: 3_600_000))
            .Build()!;

        // Drain-aware choice: a cluster with session affinity, four destinations, a request without an affinity cookie
        // (YARP's affinity step left the list of available destinations: outcome "new").
        // The two steps between YARP's affinity and load balancing (affinity outcome counting, then the drain-aware
        // choice, as the figures before they were split measured them together), over two drain registries: the
        // service's (nothing draining) and one with d1 marked.
        var outcome = _services.GetRequiredService<AffinityOutcomeStep>();
        var selection = _services.GetRequiredService<DrainAwareSelection>();
        RequestDelegate selectThenNext = context => selection.InvokeAsync(context, Next);
        _selection = context => outcome.InvokeAsync(context, selectThenNext);
        var oneDraining = new DestinationDrain(NullLogger<DestinationDrain>.Instance);
        oneDraining.Set(new DrainMark("bench", "d1"), draining: true, "bench");
        var selectionOneDraining = new DrainAwareSelection(oneDraining);
        RequestDelegate selectOneDrainingThenNext = context => selectionOneDraining.InvokeAsync(context, Next);
        _selectionOneDraining = context => outcome.InvokeAsync(context, selectOneDrainingThenNext);
        _destinations = [new("d0"), new("d1"), new("d2"), new("d3")];
        var cluster = new ClusterModel(
            new ClusterConfig { ClusterId = "bench", SessionAffinity = new SessionAffinityConfig { Enabled = true, AffinityKeyName = "k" } },
            new HttpMessageInvoker(new SocketsHttpHandler()));
        _affinityFeature = new ReverseProxyFeature { Cluster = cluster, AllDestinations = _destinations, AvailableDestinations = _destinations };
        _affinityContext = new DefaultHttpContext();
        _affinityContext.Features.Set(_affinityFeature);

        // Metrics: UseProxyMetrics + UseUpstreamMetrics exactly as GatewayPipeline wires them, around a forwarder that
        // completed synchronously with a 200 from d1.
        var proxy = new ProxyAppBuilder(new ApplicationBuilder(_services));
        proxy.UseProxyMetrics();
        proxy.UseUpstreamMetrics();
        proxy.Run(Next);
        _metricsPipeline = proxy.Build();
        var route = new RouteModel(new RouteConfig { RouteId = "bench-route", ClusterId = "bench" }, cluster: null, HttpTransformer.Default);
        _metricsContext = new DefaultHttpContext();
        _metricsContext.Request.Method = HttpMethods.Get;
        _metricsContext.Response.StatusCode = 200;
        _metricsContext.Features.Set<IReverseProxyFeature>(new ReverseProxyFeature
        {
            Route = route, Cluster = cluster, AllDestinations = _destinations, AvailableDestinations = _destinations, ProxiedDestination = _destinations[1],
        });

        // Rate limit: the policy ASP.NET Core's middleware is given (GetPartition, then the partition's PartitionLimiter),
        // and the middleware itself on an endpoint that names the policy, as YARP's RateLimiterPolicy route metadata does.
        var policy = ActivatorUtilities.CreateInstance<GatewayRateLimiterPolicy>(_services, "bench");
        _policyLimiter = PartitionedRateLimiter.Create<HttpContext, PartitionKey>(policy.GetPartition);
        var app = new ApplicationBuilder(_services);
        app.UseRateLimiter();
        app.Run(Next);
        _rateLimiterPipeline = app.Build();
        var endpoint = new Endpoint(Next, new EndpointMetadataCollection(new EnableRateLimitingAttribute("bench")), "bench-route");
        _loopbackClient = Client(IPAddress.Loopback, endpoint);
        // A dual-stack listener ([::]) sees IPv4 clients as IPv4-mapped IPv6; one IPAddress per connection, reused per request.
        _mappedClient = Client(IPAddress.Parse("10.1.2.3").MapToIPv6(), endpoint);
        _ipv4Client = Client(IPAddress.Parse("10.1.2.4"), endpoint);

        // Circuit breaker: a cluster whose CircuitBreaker block (captured as the config reader does) no benchmark run
        // reaches, and one without a limit; the rest of the pipeline completes synchronously.
        _breaker = _services.GetRequiredService<CircuitBreakerStep>();
        var limits = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ReverseProxy:Clusters:limited:CircuitBreaker:MaxConcurrentRequests"] = "1000",
        }).Build();
        var block = CircuitBreakerOptions.Block.Capture(limits.GetSection("ReverseProxy:Clusters:limited"), limits, new List<string>())!;
        var limited = new ClusterModel(
            new ClusterConfig { ClusterId = "limited", Metadata = new Dictionary<string, string> { [CircuitBreakerOptions.Block.MetadataKey] = block } },
            new HttpMessageInvoker(new SocketsHttpHandler()));
        _limitedContext = new DefaultHttpContext();
        _limitedContext.Features.Set<IReverseProxyFeature>(new ReverseProxyFeature { Cluster = limited, AllDestinations = _destinations, AvailableDestinations = _destinations });
        _unlimitedContext = new DefaultHttpContext();
        _unlimitedContext.Features.Set<IReverseProxyFeature>(new ReverseProxyFeature { Cluster = cluster, AllDestinations = _destinations, AvailableDestinations = _destinations });
    }

    private static DefaultHttpContext Client(IPAddress address, Endpoint endpoint)
    {
        var context = new DefaultHttpContext { RequestServices = null! };
        context.Connection.RemoteIpAddress = address;
        context.SetEndpoint(endpoint);
        return context;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _meterProvider.Dispose();
        _policyLimiter.Dispose();
        _services.Dispose();
    }

    [Benchmark(Description = "AffinityOutcomeStep + DrainAwareSelection, affinity on, nothing draining")]
    public Task DrainAwareChoiceNothingDraining()
    {
        _affinityFeature.AvailableDestinations = _destinations;
        return _selection(_affinityContext);
    }

    [Benchmark(Description = "AffinityOutcomeStep + DrainAwareSelection, affinity on, 1 of 4 draining")]
    public Task DrainAwareChoiceOneDraining()
    {
        _affinityFeature.AvailableDestinations = _destinations;
        return _selectionOneDraining(_affinityContext);
    }

    [Benchmark(Description = "UseProxyMetrics + UseUpstreamMetrics, OTel SDK, sync completion")]
    public Task MetricsRecording() => _metricsPipeline(_metricsContext);

    [Benchmark(Description = "Rate limit, local: GetPartition + PartitionLimiter.AttemptAcquire (127.0.0.1)")]
    public bool RateLimitDecisionLocal()
    {
        using var lease = _policyLimiter.AttemptAcquire(_loopbackClient);
        return lease.IsAcquired;
    }

    [Benchmark(Description = "Rate limit, local: GetPartition + AttemptAcquire (IPv4-mapped client)")]
    public bool RateLimitDecisionLocalMapped()
    {
        using var lease = _policyLimiter.AttemptAcquire(_mappedClient);
        return lease.IsAcquired;
    }

    [Benchmark(Description = "Rate limit, local: GetPartition + AttemptAcquire (IPv4 client)")]
    public bool RateLimitDecisionLocalIPv4()
    {
        using var lease = _policyLimiter.AttemptAcquire(_ipv4Client);
        return lease.IsAcquired;
    }

    [Benchmark(Description = "Rate limit, local: ASP.NET Core UseRateLimiter middleware (127.0.0.1)")]
    public Task RateLimiterMiddleware() => _rateLimiterPipeline(_loopbackClient);

    [Benchmark(Description = "CircuitBreakerStep, cluster with a limit, admitted, sync completion")]
    public Task CircuitBreakerAdmitted() => _breaker.InvokeAsync(_limitedContext, Next);

    [Benchmark(Description = "CircuitBreakerStep, cluster without a limit")]
    public Task CircuitBreakerNoLimit() => _breaker.InvokeAsync(_unlimitedContext, Next);

    private sealed class NullExporter : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
    }

    /// <summary>DestinationHealthMetrics reads proxy state only at scrape time; nothing scrapes here.</summary>
    private sealed class NoProxyState : IProxyStateLookup
    {
        public IEnumerable<RouteModel> GetRoutes() => [];
        public IEnumerable<ClusterState> GetClusters() => [];
        public bool TryGetRoute(string id, [NotNullWhen(true)] out RouteModel? route) { route = null; return false; }
        public bool TryGetCluster(string id, [NotNullWhen(true)] out ClusterState? cluster) { cluster = null; return false; }
    }
}
