// Per-request code the gateway adds to YARP's pipeline, measured for time and allocations (issue 11 target: 0 B).
// Run: tests/Gateway.Benchmarks/run.sh micro
using BenchmarkDotNet.Attributes;
using Gateway.Foundation;
using Gateway.Management;
using Gateway.Pooling;
using Gateway.Shutdown;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace Gateway.Benchmarks.Micro;

[MemoryDiagnoser]
public class GatewayPathBenchmarks
{
    private DrainState _drain = null!;
    private RequestDelegate _drainingPipeline = null!;
    private RequestDelegate _poolTrackingPipeline = null!;
    private DefaultHttpContext _context = null!;
    private DefaultHttpContext _proxyContext = null!;
    private ListenerMatcherPolicy _policy = null!;
    private CandidateSet _candidates = null!;
    private ClusterInvoker _invoker = null!;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddSingleton<DrainState>();
        services.AddSingleton<ShutdownMetrics>();
        services.AddSingleton<ShutdownRequestStep>();
        services.AddSingleton<PoolTrackingStep>();
        var provider = services.BuildServiceProvider();
        _drain = provider.GetRequiredService<DrainState>();

        // UseGracefulShutdown exactly as GatewayPipeline wires it, with a terminal that does nothing.
        var app = new ApplicationBuilder(provider);
        app.UseGracefulShutdown();
        app.Run(static _ => Task.CompletedTask);
        _drainingPipeline = app.Build();
        _context = new DefaultHttpContext();

        // UsePoolTracking as GatewayPipeline wires it, against a cluster whose HttpClient is a ClusterInvoker.
        var proxy = new ProxyAppBuilder(new ApplicationBuilder(provider));
        proxy.UsePoolTracking();
        proxy.Run(static _ => Task.CompletedTask);
        _poolTrackingPipeline = proxy.Build();
        var settings = PoolSettings.Resolve(null, new ConnectionPoolOptions(), null);
        _invoker = new ClusterInvoker("bench", 1, settings, new PoolStats(), new SocketsHttpHandler());
        var cluster = new ClusterModel(new ClusterConfig { ClusterId = "bench" }, _invoker);
        _proxyContext = new DefaultHttpContext();
        _proxyContext.Features.Set<IReverseProxyFeature>(new ReverseProxyFeature { Cluster = cluster });

        // The listener policy over one proxy endpoint, on a request from the proxy listener (the common case).
        _policy = new ListenerMatcherPolicy();
        var endpoint = new Endpoint(static _ => Task.CompletedTask, new EndpointMetadataCollection(ListenerMetadata.Proxy), "proxy");
        _candidates = new CandidateSet([endpoint], [new RouteValueDictionary()], [0]);
    }

    [GlobalCleanup]
    public void Cleanup() => _invoker.Dispose();

    [Benchmark(Description = "DrainState.IsDraining (the per-request check)")]
    public bool DrainCheck() => _drain.IsDraining;

    [Benchmark(Description = "DrainState.RequestStarted + RequestEnded (in-flight count)")]
    public int DrainInFlight()
    {
        _drain.RequestStarted();
        _drain.RequestEnded();
        return _drain.InFlight;
    }

    [Benchmark(Description = "UseGracefulShutdown step, serving")]
    public Task DrainingMiddleware() => _drainingPipeline(_context);

    [Benchmark(Description = "UsePoolTracking middleware, sync completion")]
    public Task PoolTracking() => _poolTrackingPipeline(_proxyContext);

    [Benchmark(Description = "ListenerMatcherPolicy.ApplyAsync, proxy request, 1 candidate")]
    public Task ListenerPolicy() => _policy.ApplyAsync(_context, _candidates);
}
