using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Gateway.Observability;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Tests.Observability;

public sealed class ProxyMetricsTests
{
    [Theory]
    [InlineData(101, "1xx")]
    [InlineData(200, "2xx")]
    [InlineData(304, "3xx")]
    [InlineData(499, "4xx")]
    [InlineData(503, "5xx")]
    [InlineData(0, "other")]
    [InlineData(600, "other")]
    [InlineData(-1, "other")]
    public void StatusClass_IsOneOfAFixedSet(int status, string expected) =>
        Assert.Equal(expected, ProxyMetrics.StatusClass(status));

    [Theory]
    [InlineData("GET", "GET")]
    [InlineData("get", "GET")] // canonicalised like ASP.NET Core does; either way a fixed string
    [InlineData("PATCH", "PATCH")]
    [InlineData("PURGE", "OTHER")]
    [InlineData("X-RANDOM-1234", "OTHER")]
    public void Method_IsAKnownMethodOrOther(string method, string expected) =>
        Assert.Equal(expected, ProxyMetrics.KnownMethod(method));

    [Fact]
    public void ErrorName_IsTheForwarderErrorName_WithoutAllocatingPerCall()
    {
        Assert.Equal("NoAvailableDestinations", ProxyMetrics.ErrorName(ForwarderError.NoAvailableDestinations));
        Assert.Same(ProxyMetrics.ErrorName(ForwarderError.Request), ProxyMetrics.ErrorName(ForwarderError.Request));
        Assert.Equal("Unknown", ProxyMetrics.ErrorName((ForwarderError)999));
    }

    [Fact]
    public void RequestCompleted_RecordsBoundedTags_AndAnErrorOnlyForForwarderErrors()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var metrics = new ProxyMetrics(factory);
        var recorded = new List<(string Instrument, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this test's meter: other tests in the process record on meters with the same name.
            if (instrument.Meter.Name == GatewayMeter.Name && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, _, tags, _) => recorded.Add((i.Name, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        listener.SetMeasurementEventCallback<double>((i, _, tags, _) => recorded.Add((i.Name, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        listener.Start();

        metrics.RequestCompleted("orders", "orders-cluster", "d1", 200, "GET", GrpcStatusLabel.None, ForwarderError.None, TimeSpan.FromMilliseconds(3));
        metrics.RequestCompleted("orders", "orders-cluster", null, 503, "BREW", GrpcStatusLabel.None, ForwarderError.NoAvailableDestinations, TimeSpan.FromMilliseconds(1));
        metrics.RequestCompleted("grpc", "orders-cluster", "d1", 200, "POST", "NOT_FOUND", ForwarderError.None, TimeSpan.FromMilliseconds(1));

        Assert.Equal(
            ["gateway.proxy.requests", "gateway.proxy.request.duration", "gateway.proxy.requests", "gateway.proxy.request.duration", "gateway.proxy.errors",
                "gateway.proxy.requests", "gateway.proxy.request.duration"],
            recorded.Select(r => r.Instrument));
        Assert.Equal("2xx", recorded[0].Tags["status_class"]);
        Assert.Equal("none", recorded[0].Tags["grpc_status"]);
        Assert.Equal(["cluster", "destination", "grpc_status", "method", "route", "status_class"], recorded[0].Tags.Keys.Order());
        // Not on the histogram: it would multiply a gRPC route's bucket series by its status codes.
        Assert.Equal(["cluster", "destination", "method", "route", "status_class"], recorded[1].Tags.Keys.Order());
        Assert.Equal("NOT_FOUND", recorded[5].Tags["grpc_status"]);
        Assert.Equal("2xx", recorded[5].Tags["status_class"]);
        Assert.Equal("none", recorded[2].Tags["destination"]);
        Assert.Equal("OTHER", recorded[2].Tags["method"]);
        Assert.Equal("NoAvailableDestinations", recorded[4].Tags["error"]);
        Assert.Equal(["cluster", "error", "route"], recorded[4].Tags.Keys.Order());
    }

    [Fact]
    public void RequestCompleted_AllocatesNothing_WhenListened()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var metrics = new ProxyMetrics(factory);
        long sum = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this test's meter: other tests in the process record on meters with the same name.
            if (instrument.Meter.Name == GatewayMeter.Name && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) => sum += value + tags.Length);
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) => sum += tags.Length);
        listener.Start();
        var method = HttpMethodsFromTheWire("POST");
        for (var i = 0; i < 100; i++)
        {
            Record(metrics, method);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            Record(metrics, method);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.True(sum > 0);
    }

    private static void Record(ProxyMetrics metrics, string method)
    {
        metrics.RequestCompleted("orders", "orders", "d1", 502, method, "UNAVAILABLE", ForwarderError.Request, TimeSpan.FromMilliseconds(2));
        metrics.UpstreamCompleted("orders", "d1", TimeSpan.FromMilliseconds(1));
    }

    /// <summary>A method string that is not the interned constant, as a server might hand it over.</summary>
    private static string HttpMethodsFromTheWire(string method) => new(method.AsSpan());
}
