// The access log's own per-request cost, through the real classes: the request-path step (a line started, the bodies
// counted, the facts captured, the line queued) and the writer thread's formatting of one line.
// Run: tests/Gateway.Benchmarks/run.sh micro --filter '*AccessLogBenchmarks*'
using System.Buffers;
using System.Diagnostics;
using System.Net;
using BenchmarkDotNet.Attributes;
using Gateway.AccessLog;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Gateway.Benchmarks.Micro;

[MemoryDiagnoser]
public class AccessLogBenchmarks
{
    private static readonly RequestDelegate Respond = static c =>
    {
        c.Response.StatusCode = 200;
        return Task.CompletedTask;
    };

    private ServiceProvider _services = null!;
    private AccessLogWriter _writer = null!;
    private AccessLogStep _step = null!;
    private DefaultHttpContext _context = null!;
    private AccessLogFormatter _formatter = null!;
    private ArrayBufferWriter<byte> _buffer = null!;
    private AccessLogEntry _entry = null!;

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var options = new AccessLogOptions { Enabled = true, BufferSize = AccessLogOptionsValidator.MaxBufferSize };
        // The writer's thread formats every line and writes it to Stream.Null: the request path never finds the buffer full.
        _writer = new AccessLogWriter(options.BufferSize, new AccessLogMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()),
            TimeProvider.System, NullLogger.Instance, Stream.Null, new object());
        _writer.Start();
        _step = new AccessLogStep(_writer, new FixedMonitor(options), TimeProvider.System);
        _context = new DefaultHttpContext();
        _context.Request.Method = "GET";
        _context.Request.Path = "/orders/42";
        _context.Request.Host = new HostString("shop.example");
        _context.Request.Protocol = "HTTP/1.1";
        _context.Connection.RemoteIpAddress = IPAddress.Parse("10.1.2.3");

        _buffer = new ArrayBufferWriter<byte>(4096);
        _formatter = new AccessLogFormatter(_buffer);
        _entry = new AccessLogEntry(new AccessLogSettings(options), Stopwatch.GetTimestamp(), DateTimeOffset.UtcNow)
        {
            Client = IPAddress.Parse("10.1.2.3"), Method = "GET", Host = "shop.example", Path = "/orders/42", Protocol = "HTTP/1.1",
            Status = 200, BytesIn = 0, BytesOut = 64, DurationTicks = Stopwatch.Frequency / 1000, UpstreamTicks = Stopwatch.Frequency / 2000,
            Proxied = true, Route = "orders", Cluster = "orders", Destination = "orders-1", Attempts = 1,
            TraceId = ActivityTraceId.CreateRandom(), SpanId = ActivitySpanId.CreateRandom(), HasTrace = true,
        };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _writer.Dispose();
        _step.Dispose();
        _formatter.Dispose();
        _services.Dispose();
    }

    /// <summary>Request path, 100% sampling: entry, response-body counter, capture, queue (the GET has no request body).</summary>
    [Benchmark]
    public Task Step_RequestPath() => _step.InvokeAsync(_context, Respond);

    /// <summary>Writer thread: one captured line to JSON.</summary>
    [Benchmark]
    public int Format_OneLine()
    {
        _buffer.ResetWrittenCount();
        _formatter.Write(_entry);
        return _buffer.WrittenCount;
    }

    private sealed class FixedMonitor(AccessLogOptions value) : IOptionsMonitor<AccessLogOptions>
    {
        public AccessLogOptions CurrentValue => value;

        public AccessLogOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<AccessLogOptions, string?> listener) => null;
    }
}
