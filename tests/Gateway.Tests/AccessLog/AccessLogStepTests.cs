using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.AccessLog;
using Gateway.Foundation;
using Gateway.Tests.Shutdown;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Tests.AccessLog;

public sealed class AccessLogStepTests
{
    [Fact]
    public async Task ARequest_GetsOneLine_WithItsFields_AndNeverACredential()
    {
        // Authorization is listed too, as a config that skipped validation would: it is still left out.
        using var log = new TestLog(new AccessLogOptions { Headers = ["User-Agent", "Authorization", "Cookie"] });
        var context = Request("GET", "/orders/7", "?token=secret-query");
        context.Request.Headers.Authorization = "Bearer secret-token";
        context.Request.Headers.Cookie = "session=secret-cookie";
        context.Request.Headers.UserAgent = "tests/1.0";

        await log.RunAsync(context, static c => c.Response.WriteAsync("hello"));

        var (line, text) = Assert.Single(log.Lines());
        Assert.Equal("GET", line.GetProperty("method").GetString());
        Assert.Equal("/orders/7", line.GetProperty("path").GetString()); // no query unless IncludeQuery
        Assert.Equal("example.test", line.GetProperty("host").GetString());
        Assert.Equal("10.1.2.3", line.GetProperty("client").GetString());
        Assert.Equal("HTTP/1.1", line.GetProperty("protocol").GetString());
        Assert.Equal(200, line.GetProperty("status").GetInt32());
        Assert.Equal(5, line.GetProperty("bytes_out").GetInt64());
        Assert.Equal(0, line.GetProperty("bytes_in").GetInt64());
        Assert.True(line.GetProperty("duration_ms").GetDouble() >= 0);
        Assert.EndsWith("Z", line.GetProperty("time").GetString(), StringComparison.Ordinal);
        Assert.Equal("tests/1.0", line.GetProperty("headers").GetProperty("user-agent").GetString());
        Assert.Single(line.GetProperty("headers").EnumerateObject());
        // Not proxied: no route, cluster, destination, attempts or upstream time; not gRPC.
        foreach (var absent in new[] { "route", "cluster", "destination", "attempts", "upstream_ms", "grpc_status", "aborted", "error", "rate_limit" })
        {
            Assert.False(line.TryGetProperty(absent, out _), $"'{absent}' should be absent: {text}");
        }

        Assert.DoesNotContain("secret", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AManagementListenerRequest_GetsNoLine_AndNoFacts()
    {
        using var log = new TestLog(new AccessLogOptions());
        var context = Request("GET", "/metrics");
        context.Features.Set(ManagementConnectionFeature.Instance);
        IRequestFacts? seen = null;

        await log.RunAsync(context, c =>
        {
            seen = c.Features.Get<IRequestFacts>();
            return Task.CompletedTask;
        });

        Assert.Null(seen);
        Assert.Empty(log.Lines());
    }

    [Fact]
    public async Task AtSampleRateZero_EveryErrorIsLogged_AndNoSuccess()
    {
        using var log = new TestLog(new AccessLogOptions { SampleRate = 0 });

        await log.RunAsync(Request("GET", "/ok"), static _ => Task.CompletedTask);
        await log.RunAsync(Request("GET", "/missing"), static c => Status(c, 404));
        await log.RunAsync(Request("GET", "/broken"), static c => Status(c, 503));
        await log.RunAsync(Request("POST", "/grpc.Test/Get"), static c =>
        {
            c.Response.ContentType = "application/grpc";
            c.Response.Headers["grpc-status"] = "5";
            return Task.CompletedTask;
        });
        var aborted = Request("GET", "/cut");
        var lifetime = new CancelledLifetime();
        aborted.Features.Set<IHttpRequestLifetimeFeature>(lifetime);
        await log.RunAsync(aborted, static _ => Task.CompletedTask);
        var threw = Request("GET", "/threw");
        await Assert.ThrowsAsync<InvalidOperationException>(() => log.RunAsync(threw, static async _ =>
        {
            await Task.Yield();
            throw new InvalidOperationException("boom");
        }));

        var lines = log.Lines().Select(l => l.Line).ToList();
        Assert.Equal(["/missing", "/broken", "/grpc.Test/Get", "/cut", "/threw"], lines.Select(l => l.GetProperty("path").GetString()));
        Assert.Equal("NOT_FOUND", lines[2].GetProperty("grpc_status").GetString());
        Assert.Equal(200, lines[2].GetProperty("status").GetInt32());
        Assert.True(lines[3].GetProperty("aborted").GetBoolean());
        Assert.Equal(500, lines[4].GetProperty("status").GetInt32()); // Kestrel's answer to an exception before the response started
    }

    [Fact]
    public async Task AFullBuffer_DropsTheLine_AndCountsIt_WithoutWaiting()
    {
        // The writer's thread is not started: nothing drains the one-line buffer.
        using var log = new TestLog(new AccessLogOptions { BufferSize = 1 }, start: false);

        for (var i = 0; i < 5; i++)
        {
            var pending = log.RunAsync(Request("GET", $"/r{i}"), static _ => Task.CompletedTask);
            Assert.True(pending.IsCompletedSuccessfully, "a request must never wait for the access log");
            await pending;
        }

        Assert.Equal(4, log.Dropped);
        log.Writer.Start();
        Assert.Equal(["/r0"], log.Lines().Select(l => l.Line.GetProperty("path").GetString()));
        Assert.Equal(1, log.Written);
    }

    [Fact]
    public async Task BodyBytes_AreCounted_WhicheverWayTheyAreWrittenOrRead()
    {
        using var log = new TestLog(new AccessLogOptions { IncludeQuery = true });
        var context = Request("POST", "/upload", "?a=1&b=%C3%A9");
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes("0123456789"));
        context.Features.Set<IHttpRequestBodyDetectionFeature>(new BodyAllowed());

        await log.RunAsync(context, static async c =>
        {
            var buffer = new byte[4];
            while (await c.Request.Body.ReadAsync(buffer) > 0)
            {
            }

            await c.Response.Body.WriteAsync("abc"u8.ToArray());
            await c.Response.BodyWriter.WriteAsync("defg"u8.ToArray());
            var span = c.Response.BodyWriter.GetSpan(2);
            span[0] = (byte)'h';
            span[1] = (byte)'i';
            c.Response.BodyWriter.Advance(2);
        });

        var line = Assert.Single(log.Lines()).Line;
        Assert.Equal(10, line.GetProperty("bytes_in").GetInt64());
        Assert.Equal(9, line.GetProperty("bytes_out").GetInt64());
        Assert.Equal("/upload?a=1&b=%C3%A9", line.GetProperty("path").GetString());
        // The counters are gone once the request is over.
        Assert.IsType<MemoryStream>(context.Request.Body);
        Assert.IsNotType<CountingResponseBody>(context.Features.Get<IHttpResponseBodyFeature>());
    }

    [Fact]
    public async Task Fields_LimitTheLine_ToTheListedKeys()
    {
        using var log = new TestLog(new AccessLogOptions { Fields = ["status", "method", "trace_id"] });

        await log.RunAsync(Request("DELETE", "/x"), static c => Status(c, 204));

        var line = Assert.Single(log.Lines()).Line;
        Assert.Equal(["method", "status"], line.EnumerateObject().Select(p => p.Name)); // no activity here, so no trace id
    }

    [Fact]
    public async Task TheAffinityOutcome_ComesFromTheRequestFacts()
    {
        using var log = new TestLog(new AccessLogOptions());

        await log.RunAsync(Request("GET", "/pinned"), static c =>
        {
            c.Features.Get<IRequestFacts>()!.AffinityOutcome = "pinned";
            return Task.CompletedTask;
        });

        Assert.Equal("pinned", Assert.Single(log.Lines()).Line.GetProperty("affinity").GetString());
    }

    private static DefaultHttpContext Request(string method, string path, string query = "")
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpResponseFeature>(new KestrelLikeResponse());
        context.Request.Method = method;
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query);
        context.Request.Host = new HostString("example.test");
        context.Request.Protocol = "HTTP/1.1";
        context.Connection.RemoteIpAddress = IPAddress.Parse("10.1.2.3").MapToIPv6();
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static Task Status(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        return Task.CompletedTask;
    }

    /// <summary>Keeps OnCompleted callbacks so <see cref="TestLog.RunAsync"/> can run them after the request, as Kestrel does.</summary>
    private sealed class KestrelLikeResponse : IHttpResponseFeature
    {
        public List<(Func<object, Task> Callback, object State)> Completed { get; } = [];

        public int StatusCode { get; set; } = 200;

        public string? ReasonPhrase { get; set; }

        public IHeaderDictionary Headers { get; set; } = new HeaderDictionary();

        [Obsolete("Use IHttpResponseBodyFeature")]
        public Stream Body { get; set; } = Stream.Null;

        public bool HasStarted => false;

        public void OnStarting(Func<object, Task> callback, object state)
        {
        }

        public void OnCompleted(Func<object, Task> callback, object state) => Completed.Add((callback, state));
    }

    private sealed class BodyAllowed : IHttpRequestBodyDetectionFeature
    {
        public bool CanHaveBody => true;
    }

    private sealed class CancelledLifetime : IHttpRequestLifetimeFeature
    {
        public CancellationToken RequestAborted { get; set; } = new(canceled: true);

        public void Abort()
        {
        }
    }

    /// <summary>A step and a writer whose stdout is a memory stream; <see cref="Lines"/> drains the writer first.</summary>
    private sealed class TestLog : IDisposable
    {
        private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        private readonly MemoryStream _output = new();
        private readonly MeterListener _listener = new();
        private long _written;
        private long _dropped;

        public TestLog(AccessLogOptions options, bool start = true)
        {
            var factory = _services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name.StartsWith("gateway.access_log.", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                if (instrument.Name.EndsWith(".written", StringComparison.Ordinal))
                {
                    Interlocked.Add(ref _written, value);
                }
                else
                {
                    Interlocked.Add(ref _dropped, value);
                }
            });
            _listener.Start();
            Writer = new AccessLogWriter(options.BufferSize, new AccessLogMetrics(factory), TimeProvider.System, NullLogger.Instance, _output, new object());
            Step = new AccessLogStep(Writer, new StaticOptionsMonitor<AccessLogOptions>(options), TimeProvider.System);
            if (start)
            {
                Writer.Start();
            }
        }

        public AccessLogWriter Writer { get; }

        public AccessLogStep Step { get; }

        public long Written => Interlocked.Read(ref _written);

        public long Dropped => Interlocked.Read(ref _dropped);

        /// <summary>The step, then what Kestrel does after the application: its 500 for an exception, the OnCompleted callbacks.</summary>
        public async Task RunAsync(HttpContext context, RequestDelegate next)
        {
            Exception? failure = null;
            try
            {
                await Step.InvokeAsync(context, next);
            }
            catch (Exception ex)
            {
                failure = ex;
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            }

            if (context.Features.Get<IHttpResponseFeature>() is KestrelLikeResponse response)
            {
                foreach (var (callback, state) in response.Completed)
                {
                    await callback(state);
                }
            }

            if (failure is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }
        }

        public List<(JsonElement Line, string Text)> Lines()
        {
            Writer.Drain();
            var text = Encoding.UTF8.GetString(_output.ToArray());
            Assert.True(text.Length == 0 || text.EndsWith('\n'), "whole lines only");
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => (JsonDocument.Parse(l).RootElement.Clone(), l))
                .ToList();
        }

        public void Dispose()
        {
            Writer.Dispose();
            Step.Dispose();
            _listener.Dispose();
            _services.Dispose();
        }
    }
}
