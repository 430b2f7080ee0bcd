using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using Gateway.CircuitBreaker;
using Gateway.Foundation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace Gateway.Tests.CircuitBreaker;

public sealed class CircuitBreakerStepTests
{
    [Fact]
    public async Task BeyondTheLimits_TheAnswerIs503CircuitOpen_WithRetryAfter_AndNothingIsForwarded()
    {
        var kit = new Kit(maxConcurrent: 1, maxPending: 0);
        var stalled = new TaskCompletionSource();
        var inFlight = kit.SendAsync(_ => stalled.Task);

        var rejected = await kit.SendAsync(_ => throw new InvalidOperationException("must not be forwarded"));

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, rejected.Response.StatusCode);
        Assert.Equal("1", rejected.Response.Headers.RetryAfter.ToString());
        Assert.Equal("application/json", rejected.Response.ContentType);
        Assert.Equal("""{"error":"circuit_open"}""", Kit.Body(rejected));
        Assert.Equal(1L, kit.Rejections["c"]);

        stalled.SetResult();
        await inFlight;
        Assert.Equal(StatusCodes.Status200OK, (await kit.SendAsync(_ => Task.CompletedTask)).Response.StatusCode);
    }

    [Fact]
    public async Task AWaitingRequest_IsForwardedWhenAPlaceFrees_AndAWaiterWhoseClientLeft_IsNot()
    {
        var kit = new Kit(maxConcurrent: 1, maxPending: 2);
        var stalled = new TaskCompletionSource();
        var inFlight = kit.SendAsync(_ => stalled.Task);
        var forwarded = 0;
        var waiting = kit.SendAsync(_ =>
        {
            forwarded++;
            return Task.CompletedTask;
        });
        using var leaves = new CancellationTokenSource();
        var gone = kit.SendAsync(_ => throw new InvalidOperationException("its client left"), leaves.Token);
        Assert.Equal(2, kit.Breaker.Pending);

        leaves.Cancel();
        await gone;
        Assert.Equal(1, kit.Breaker.Pending);
        Assert.Equal(0, forwarded);

        stalled.SetResult();
        await inFlight;
        await waiting;
        Assert.Equal(1, forwarded);
        Assert.Equal((0, 0), (kit.Breaker.Active, kit.Breaker.Pending));
        Assert.Equal(0L, kit.Rejections["c"]);
    }

    [Fact]
    public async Task AClusterWithoutALimit_IsForwardedUntouched()
    {
        var kit = new Kit(maxConcurrent: null, maxPending: 0);
        var stalled = new TaskCompletionSource();
        var first = kit.SendAsync(_ => stalled.Task);

        var second = await kit.SendAsync(_ => Task.CompletedTask);

        Assert.Equal(StatusCodes.Status200OK, second.Response.StatusCode);
        stalled.SetResult();
        await first;
    }

    private sealed class Kit
    {
        private readonly CircuitBreakerStep _step;
        private readonly CircuitBreakers _breakers = new();
        private readonly ClusterModel _model;

        public Kit(int? maxConcurrent, int maxPending)
        {
            // The block travels in the cluster's metadata, captured by the same code the config reader runs.
            var values = new Dictionary<string, string?> { ["ReverseProxy:Clusters:c:CircuitBreaker:MaxPendingRequests"] = maxPending.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            if (maxConcurrent is { } max)
            {
                values["ReverseProxy:Clusters:c:CircuitBreaker:MaxConcurrentRequests"] = max.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
            var errors = new List<string>();
            var captured = CircuitBreakerOptions.Block.Capture(config.GetSection("ReverseProxy:Clusters:c"), config, errors);
            Assert.Empty(errors);
            _model = new ClusterModel(
                new ClusterConfig { ClusterId = "c", Metadata = new Dictionary<string, string> { [CircuitBreakerOptions.Block.MetadataKey] = captured! } },
                new HttpMessageInvoker(new HttpClientHandler()));

            var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
            Rejections = new CounterRecorder(meters, "gateway.circuit_open", "cluster");
            var metrics = new CircuitBreakerMetrics(meters, new KnownSeries(new ServiceCollection().BuildServiceProvider()), _breakers, new NoProxyState());
            _step = new CircuitBreakerStep(_breakers, metrics, TimeProvider.System, NullLogger<CircuitBreakerStep>.Instance);
        }

        public CounterRecorder Rejections { get; }

        public ClusterBreaker Breaker => _breakers.For(_model)!;

        public static string Body(HttpContext context) => System.Text.Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());

        public async Task<HttpContext> SendAsync(RequestDelegate forward, CancellationToken aborted = default)
        {
            var context = new DefaultHttpContext { RequestAborted = aborted };
            context.Response.Body = new MemoryStream();
            var cluster = new ClusterState("c", _model);
            context.Features.Set<IReverseProxyFeature>(new ReverseProxyFeature
            {
                Cluster = _model,
                Route = new RouteModel(new RouteConfig { RouteId = "r", ClusterId = "c" }, cluster, Yarp.ReverseProxy.Forwarder.HttpTransformer.Default),
                AllDestinations = [],
                AvailableDestinations = [],
            });
            await _step.InvokeAsync(context, forward);
            return context;
        }
    }

    private sealed class NoProxyState : IProxyStateLookup
    {
        public IEnumerable<ClusterState> GetClusters() => [];

        public IEnumerable<RouteModel> GetRoutes() => [];

        public bool TryGetCluster(string id, [NotNullWhen(true)] out ClusterState? cluster)
        {
            cluster = null;
            return false;
        }

        public bool TryGetRoute(string id, [NotNullWhen(true)] out RouteModel? route)
        {
            route = null;
            return false;
        }
    }
}
