using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Gateway.Retries;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Gateway.Tests.Retries;

public sealed class SafeRetryStepTests
{
    private static readonly HttpRequestException Refused = new(HttpRequestError.ConnectionError, "Connection refused");
    private static readonly HttpRequestException ResetAfterSending = new(HttpRequestError.ResponseEnded, "reset");

    [Fact]
    public async Task ARefusedConnect_IsRetriedOnAnotherDestination_WithATokenBanked()
    {
        var cluster = new TestCluster(budgetPercent: 100, dead: ["d1"]);

        var context = await cluster.SendAsync(firstDestination: "d1");

        Assert.Equal(2, cluster.Attempts.Count);
        Assert.Equal("d1", cluster.Attempts[0]);
        Assert.NotEqual("d1", cluster.Attempts[1]);
        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
        Assert.Null(context.Features.Get<IForwarderErrorFeature>());
        Assert.Equal(["attempted", "succeeded"], cluster.RetryResults);
    }

    [Fact]
    public async Task ARetry_AfterTheBudgetIsSpent_IsNotMade_UntilFirstAttemptsHaveEarnedAnotherToken()
    {
        // 50%: every first attempt banks half a token, a retry spends a whole one.
        var cluster = new TestCluster(budgetPercent: 50, dead: ["d1"]);

        var first = await cluster.SendAsync(firstDestination: "d1");
        Assert.Equal(StatusCodes.Status502BadGateway, first.Response.StatusCode);
        Assert.Single(cluster.Attempts);
        Assert.Equal(["budget_exhausted"], cluster.RetryResults);

        cluster.Attempts.Clear();
        var second = await cluster.SendAsync(firstDestination: "d1");
        Assert.Equal(StatusCodes.Status200OK, second.Response.StatusCode);
        Assert.Equal(2, cluster.Attempts.Count);

        cluster.Attempts.Clear();
        var third = await cluster.SendAsync(firstDestination: "d1");
        Assert.Equal(StatusCodes.Status502BadGateway, third.Response.StatusCode);
        Assert.Single(cluster.Attempts);
        Assert.Equal(["budget_exhausted", "attempted", "succeeded", "budget_exhausted"], cluster.RetryResults);
    }

    [Fact]
    public async Task MaxAttempts_BoundsTheRetries_AndNoDestinationIsTriedTwice()
    {
        var cluster = new TestCluster(budgetPercent: 100, dead: [], maxAttempts: 3);
        for (var i = 0; i < 5; i++)
        {
            // Bank tokens with successful first attempts, then every destination dies.
            await cluster.SendAsync(firstDestination: "d4");
        }

        cluster.Dead.UnionWith(["d1", "d2", "d3", "d4"]);
        cluster.Attempts.Clear();
        var context = await cluster.SendAsync(firstDestination: "d1");

        Assert.Equal(3, cluster.Attempts.Count);
        Assert.Equal(3, cluster.Attempts.Distinct().Count());
        Assert.Equal("d1", cluster.Attempts[0]);
        Assert.Equal(StatusCodes.Status502BadGateway, context.Response.StatusCode);
    }

    [Fact]
    public async Task APostWhoseConnectionBrokeAfterSending_IsNotRetried_ButARefusedPostIs()
    {
        var cluster = new TestCluster(budgetPercent: 100, dead: ["d1"], failure: ResetAfterSending);

        var broken = await cluster.SendAsync(firstDestination: "d1", method: HttpMethods.Post, canHaveBody: true);
        Assert.Single(cluster.Attempts);
        Assert.Equal(StatusCodes.Status502BadGateway, broken.Response.StatusCode);

        var refused = new TestCluster(budgetPercent: 100, dead: ["d1"], failure: Refused);
        await refused.SendAsync(firstDestination: "d1", method: HttpMethods.Post, canHaveBody: true);
        Assert.Equal(2, refused.Attempts.Count);
    }

    [Fact]
    public async Task AGetWithoutBody_WhoseConnectionBrokeBeforeAResponse_IsRetried()
    {
        var cluster = new TestCluster(budgetPercent: 100, dead: ["d1"], failure: ResetAfterSending);

        var context = await cluster.SendAsync(firstDestination: "d1", method: HttpMethods.Get, canHaveBody: false);

        Assert.Equal(2, cluster.Attempts.Count);
        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
    }

    [Fact]
    public async Task AGetWithoutBody_WhoseResponseBodyBrokeBeforeAnyByteReachedTheClient_IsRetried_APostIsNot()
    {
        // YARP had the response headers, the first body read failed, nothing was written to the client (it cleared them).
        var cluster = new TestCluster(budgetPercent: 100, dead: ["d1"], failure: ResetAfterSending, error: ForwarderError.ResponseBodyDestination);

        var get = await cluster.SendAsync(firstDestination: "d1", method: HttpMethods.Get, canHaveBody: false);
        Assert.Equal(2, cluster.Attempts.Count);
        Assert.Equal(StatusCodes.Status200OK, get.Response.StatusCode);

        cluster.Attempts.Clear();
        var post = await cluster.SendAsync(firstDestination: "d1", method: HttpMethods.Post, canHaveBody: true);
        Assert.Single(cluster.Attempts);
        Assert.Equal(StatusCodes.Status502BadGateway, post.Response.StatusCode);
    }

    [Fact]
    public async Task WithNothingBanked_TheFloorStillAllowsMinRetriesPerSecond_ThenTheBudgetIsExhausted()
    {
        // 0%: the percentage never banks anything; the floor allows 3 a second.
        var cluster = new TestCluster(budgetPercent: 0, dead: ["d1"], minRetriesPerSecond: 3);

        var statuses = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add((await cluster.SendAsync(firstDestination: "d1")).Response.StatusCode);
        }

        Assert.Equal([200, 200, 200, 502], statuses);
        Assert.Equal("budget_exhausted", cluster.RetryResults[^1]);

        // A third of a second later, one more.
        cluster.Time.Advance(TimeSpan.FromSeconds(1.0 / 3));
        Assert.Equal(StatusCodes.Status200OK, (await cluster.SendAsync(firstDestination: "d1")).Response.StatusCode);
    }

    [Fact]
    public async Task RetriesOff_ForwardsOnce()
    {
        var cluster = new TestCluster(budgetPercent: 100, dead: ["d1"], enabled: false);

        var context = await cluster.SendAsync(firstDestination: "d1");

        Assert.Single(cluster.Attempts);
        Assert.Equal(StatusCodes.Status502BadGateway, context.Response.StatusCode);
        Assert.Empty(cluster.RetryResults);
    }

    /// <summary>A cluster of four destinations behind a fake forwarder that fails on the dead ones.</summary>
    private sealed class TestCluster
    {
        private readonly SafeRetryStep _step;
        private readonly ClusterState _cluster;
        private readonly RouteModel _route;
        private readonly HttpRequestException _failure;
        private readonly ForwarderError _error;
        private readonly MeterListener _listener = new();

        public TestCluster(int budgetPercent, string[] dead, int maxAttempts = 2, bool enabled = true, HttpRequestException? failure = null, int minRetriesPerSecond = 0, ForwarderError error = ForwarderError.Request)
        {
            Dead = [.. dead];
            _failure = failure ?? Refused;
            _error = error;

            // The Retry block travels in the cluster's metadata, captured by the same code the config reader runs.
            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ReverseProxy:Clusters:c:Retry:Enabled"] = enabled ? "true" : "false",
                ["ReverseProxy:Clusters:c:Retry:MaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ReverseProxy:Clusters:c:Retry:BudgetPercent"] = budgetPercent.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ReverseProxy:Clusters:c:Retry:MinRetriesPerSecond"] = minRetriesPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }).Build();
            var errors = new List<string>();
            var captured = RetryOptions.Block.Capture(config.GetSection("ReverseProxy:Clusters:c"), config, errors);
            Assert.Empty(errors);

            var model = new ClusterModel(
                new ClusterConfig { ClusterId = "c", Metadata = new Dictionary<string, string> { [RetryOptions.Block.MetadataKey] = captured! } },
                new HttpMessageInvoker(new HttpClientHandler()));
            _cluster = new ClusterState("c", model);
            var destinations = new[] { new DestinationState("d1"), new DestinationState("d2"), new DestinationState("d3"), new DestinationState("d4") };
            _cluster.DestinationsState = new ClusterDestinationsState(destinations, destinations);
            _route = new RouteModel(new RouteConfig { RouteId = "r", ClusterId = "c" }, _cluster, HttpTransformer.Default);

            var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
            _step = new SafeRetryStep(new RetryMetrics(meters, new KnownSeries(new ServiceCollection().BuildServiceProvider())), Time, NullLogger<SafeRetryStep>.Instance);
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "gateway.retries" && ReferenceEquals(instrument.Meter.Scope, meters))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "result")
                    {
                        RetryResults.Add((string)tag.Value!);
                    }
                }
            });
            _listener.Start();
        }

        public HashSet<string> Dead { get; }

        public ManualTime Time { get; } = new();

        public List<string> Attempts { get; } = [];

        public List<string> RetryResults { get; } = [];

        public async Task<HttpContext> SendAsync(string firstDestination, string? method = null, bool canHaveBody = false)
        {
            var context = new DefaultHttpContext();
            context.Request.Method = method ?? HttpMethods.Get;
            context.Features.Set<IHttpRequestBodyDetectionFeature>(new BodyDetection(canHaveBody));
            context.SetEndpoint(new Endpoint(null, new EndpointMetadataCollection(_route), "r"));
            var first = _cluster.DestinationsState.AllDestinations.Single(d => d.DestinationId == firstDestination);
            context.Features.Set<IReverseProxyFeature>(new ReverseProxyFeature
            {
                Route = _route,
                Cluster = _cluster.Model,
                AllDestinations = _cluster.DestinationsState.AllDestinations,
                AvailableDestinations = [first],
            });

            await _step.InvokeAsync(context, ForwardAsync);
            return context;
        }

        // The forwarder as YARP's pipeline ends: one attempt on the first available destination.
        private Task ForwardAsync(HttpContext context)
        {
            var proxy = context.GetReverseProxyFeature();
            var destination = proxy.AvailableDestinations[0];
            proxy.ProxiedDestination = destination;
            Attempts.Add(destination.DestinationId);
            if (Dead.Contains(destination.DestinationId))
            {
                context.Response.StatusCode = StatusCodes.Status502BadGateway;
                context.Features.Set<IForwarderErrorFeature>(new ErrorFeature(_error, _failure));
                return Task.Delay(1); // asynchronously, as a real connect failure completes
            }

            context.Response.StatusCode = StatusCodes.Status200OK;
            return Task.CompletedTask;
        }
    }

    private sealed record ErrorFeature(ForwarderError Error, Exception? Exception) : IForwarderErrorFeature;

    private sealed record BodyDetection(bool CanHaveBody) : IHttpRequestBodyDetectionFeature;
}
