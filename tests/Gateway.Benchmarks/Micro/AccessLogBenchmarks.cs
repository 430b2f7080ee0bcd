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
    private AccessLogStep _captureOnly = null!;
    private DefaultHttpContext _context = null!;
    private CompletingResponse _response = null!;
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
        // The same capture with nothing queued: BenchmarkDotNet's loop would outrun any writer, and the measurement would
        // be the queue's lock contended by the writer's thread, which real traffic (thousands per second) never sees.
        _captureOnly = new AccessLogStep(_writer, new FixedMonitor(new AccessLogOptions { Enabled = true, SampleRate = 0 }), TimeProvider.System);
        _context = new DefaultHttpContext();
        _response = new CompletingResponse();
        _context.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpResponseFeature>(_response);
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
        _captureOnly.Dispose();
        _formatter.Dispose();
        _services.Dispose();
    }

    /// <summary>Request path: entry, response-body counter, then (as Kestrel's OnCompleted) the capture; not queued.</summary>
    [Benchmark]
    public Task Step_RequestPath_Capture()
    {
        var done = _captureOnly.InvokeAsync(_context, Respond);
        _response.Complete();
        return done;
    }

    /// <summary>Handing a line to the writer (its thread formats it to Stream.Null meanwhile; a full buffer drops).</summary>
    [Benchmark]
    public bool Writer_TryWrite() => _writer.TryWrite(_entry);

    /// <summary>Writer thread: one captured line to JSON.</summary>
    [Benchmark]
    public int Format_OneLine()
    {
        _buffer.ResetWrittenCount();
        _formatter.Write(_entry);
        return _buffer.WrittenCount;
    }

    /// <summary>Runs the OnCompleted callback once the request is over, as Kestrel does (DefaultHttpContext's feature drops it).</summary>
    private sealed class CompletingResponse : Microsoft.AspNetCore.Http.Features.IHttpResponseFeature
    {
        private Func<object, Task>? _callback;
        private object? _state;

        public int StatusCode { get; set; } = 200;

        public string? ReasonPhrase { get; set; }

        public IHeaderDictionary Headers { get; set; } = new HeaderDictionary();

        [Obsolete("Use IHttpResponseBodyFeature")]
        public Stream Body { get; set; } = Stream.Null;

        public bool HasStarted => false;

        public void OnStarting(Func<object, Task> callback, object state)
        {
        }

        public void OnCompleted(Func<object, Task> callback, object state) => (_callback, _state) = (callback, state);

        public void Complete()
        {
            var (callback, state) = (_callback, _state);
            (_callback, _state) = (null, null);
            callback?.Invoke(state!);
        }
    }

    private sealed class FixedMonitor(AccessLogOptions value) : IOptionsMonitor<AccessLogOptions>
    {
        public AccessLogOptions CurrentValue => value;

        public AccessLogOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<AccessLogOptions, string?> listener) => null;
    }
}
