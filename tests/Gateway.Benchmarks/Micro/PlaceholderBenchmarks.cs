// PLACEHOLDERS for per-request code being built in other branches (affinity/drain-aware choice, proxy metrics,
// Redis rate limiting). Each measures the primitive that code is contracted to use, so the cost is known before
// it lands; the integrator replaces the body with the real call (see the TODO on each) once the feature is merged.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Yarp.ReverseProxy.Model;

namespace Gateway.Benchmarks.Micro;

[MemoryDiagnoser]
public class PlaceholderBenchmarks
{
    private Meter _meter = null!;
    private MeterProvider _provider = null!;
    private Counter<long> _requests = null!;
    private Histogram<double> _duration = null!;
    private DestinationState[] _destinations = null!;
    private bool[] _draining = null!;
    private int _next;
    private PartitionedRateLimiter<HttpContext> _limiter = null!;
    private PartitionedRateLimiter<HttpContext> _cachedPartitionLimiter = null!;
    private DefaultHttpContext _context = null!;

    [GlobalSetup]
    public void Setup()
    {
        // The real OpenTelemetry SDK aggregating, as in the gateway (exporter is a no-op so no I/O is measured).
        _meter = new Meter("Gateway.Bench");
        _provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(_meter.Name)
            .AddReader(new PeriodicExportingMetricReader(new NullExporter(), exportIntervalMilliseconds: 3_600_000))
            .Build()!;
        _requests = _meter.CreateCounter<long>("gateway.proxy.requests");
        _duration = _meter.CreateHistogram<double>("gateway.proxy.request.duration", "s");

        _destinations = new DestinationState[4];
        _draining = new bool[4];
        for (var i = 0; i < _destinations.Length; i++)
        {
            _destinations[i] = new DestinationState("d" + i);
        }

        _draining[1] = true;

        // ASP.NET Core's rate limiter middleware decides through a PartitionedRateLimiter<HttpContext>; the
        // gateway's Local fallback is this with FixedWindow partitions keyed by route.
        _limiter = PartitionedRateLimiter.Create<HttpContext, string>(static _ => RateLimitPartition.GetFixedWindowLimiter(
            "bench", static _ => new FixedWindowRateLimiterOptions { PermitLimit = int.MaxValue, Window = TimeSpan.FromSeconds(1), QueueLimit = 0 }));
        // Same limiter, but the partition built once: GetFixedWindowLimiter wraps its factory in a new closure on
        // every call, so a partitioner that calls it per request allocates; one that returns a cached partition does not.
        var partition = RateLimitPartition.GetFixedWindowLimiter(
            "bench", static _ => new FixedWindowRateLimiterOptions { PermitLimit = int.MaxValue, Window = TimeSpan.FromSeconds(1), QueueLimit = 0 });
        _cachedPartitionLimiter = PartitionedRateLimiter.Create<HttpContext, string>(_ => partition);
        _context = new DefaultHttpContext();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _provider.Dispose();
        _meter.Dispose();
        _limiter.Dispose();
        _cachedPartitionLimiter.Dispose();
    }

    /// <summary>TODO(integrator): replace with the drain-aware destination choice from Affinity/ once merged.</summary>
    [Benchmark(Description = "PLACEHOLDER drain-aware destination choice (skip draining, round robin)")]
    public DestinationState? DrainAwareChoice()
    {
        var n = _destinations.Length;
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)n);
        for (var i = 0; i < n; i++)
        {
            var index = (start + i) % n;
            if (!_draining[index])
            {
                return _destinations[index];
            }
        }

        return null;
    }

    /// <summary>TODO(integrator): replace with the proxy metrics class (gateway.proxy.*) from Observability/ once merged.</summary>
    [Benchmark(Description = "PLACEHOLDER metrics recording (counter 5 tags + histogram, OTel SDK)")]
    public void MetricsRecording()
    {
        var tags = new TagList
        {
            { "route", "bench" },
            { "cluster", "bench" },
            { "destination", "d1" },
            { "status_class", "2xx" },
            { "method", "GET" },
        };
        _requests.Add(1, tags);
        var durationTags = new TagList { { "route", "bench" }, { "cluster", "bench" } };
        _duration.Record(0.000_5, durationTags);
    }

    /// <summary>TODO(integrator): replace with the Redis-backed limiter's local decision from RateLimiting/ once merged.</summary>
    [Benchmark(Description = "PLACEHOLDER rate-limit decision (local FixedWindow, partitioned)")]
    public bool RateLimitDecision()
    {
        using var lease = _limiter.AttemptAcquire(_context);
        return lease.IsAcquired;
    }

    /// <summary>TODO(integrator): as above; shows the allocation-free way to write the partitioner.</summary>
    [Benchmark(Description = "PLACEHOLDER rate-limit decision (local FixedWindow, cached partition)")]
    public bool RateLimitDecisionCachedPartition()
    {
        using var lease = _cachedPartitionLimiter.AttemptAcquire(_context);
        return lease.IsAcquired;
    }

    private sealed class NullExporter : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
    }
}
