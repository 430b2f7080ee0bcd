// The one background writer: a bounded buffer of lines, drained by a thread of its own that formats them and writes
// whole lines to stdout. The request path only calls TryWrite: a full buffer drops the line and counts it, it never
// waits. A thread, not a thread-pool task: a stuck stdout blocks the write, and must not hold a pool thread.
using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace Gateway.AccessLog;

internal sealed class AccessLogWriter : IHostedService, IDisposable
{
    /// <summary>A write is at most about this big (whole lines), so one syscall carries many lines.</summary>
    private const int FlushBytes = 64 * 1024;

    /// <summary>
    /// After a write, lines gather this long before the next: one wake-up and one write per interval under load, not per
    /// request. The buffer must hold an interval's traffic (8192 lines: 160k requests/s).
    /// </summary>
    private static readonly TimeSpan GatherInterval = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan DropReportInterval = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);

    private readonly Channel<AccessLogEntry> _channel;
    private readonly ArrayBufferWriter<byte> _buffer = new(FlushBytes * 2);
    private readonly AccessLogMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly bool _enabled;
    private Stream? _output;
    private object? _outputLock;
    private Thread? _thread;
    private long _droppedSinceReport;
    private long _lastReport;
    private bool _reported;
    private bool _writeFailed;
    private CancellationTokenRegistration _stopped;

    public AccessLogWriter(IOptions<AccessLogOptions> options, AccessLogMetrics metrics, TimeProvider time, ILogger<AccessLogWriter> logger, IHostApplicationLifetime lifetime)
        : this(options.Value.BufferSize, metrics, time, logger, output: null, outputLock: null)
    {
        _enabled = options.Value.Enabled;
        _lifetime = lifetime;
    }

    /// <summary>For tests: lines go to <paramref name="output"/>, written under <paramref name="outputLock"/>.</summary>
    internal AccessLogWriter(int bufferSize, AccessLogMetrics metrics, TimeProvider time, ILogger logger, Stream? output, object? outputLock)
    {
        _channel = Channel.CreateBounded<AccessLogEntry>(new BoundedChannelOptions(Math.Clamp(bufferSize, 1, AccessLogOptionsValidator.MaxBufferSize))
        {
            // Wait mode, but only TryWrite is ever called: it returns false when full, which is the drop we count.
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _output = output;
        _outputLock = outputLock;
    }

    /// <summary>Queues a line for stdout; when the buffer is full the line is dropped and counted. Never blocks.</summary>
    public bool TryWrite(AccessLogEntry entry)
    {
        if (_channel.Writer.TryWrite(entry))
        {
            return true;
        }

        Interlocked.Increment(ref _droppedSinceReport);
        _metrics.Dropped(1);
        return false;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_enabled)
        {
            Start();
            _stopped = _lifetime?.ApplicationStopped.Register(static w => ((AccessLogWriter)w!).Drain(), this) ?? default;
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Starts the writer's thread. Lines of requests still in flight at StopAsync are written at ApplicationStopped.</summary>
    internal void Start()
    {
        if (_thread is not null)
        {
            return;
        }

        // The console logger writes through Console.Out, which locks itself for each write; taking the same lock for ours
        // keeps its lines and ours from interleaving mid-line on the shared stdout.
        _output ??= Console.OpenStandardOutput();
        _outputLock ??= Console.Out;
        _metrics.Publish();
        _thread = new Thread(Run) { IsBackground = true, Name = "access-log" };
        _thread.Start();
    }

    /// <summary>Writes what is buffered (for a bounded time: stdout may be stuck) and stops the thread.</summary>
    internal void Drain()
    {
        _channel.Writer.TryComplete();
        _thread?.Join(DrainTimeout);
    }

    public void Dispose()
    {
        _stopped.Dispose();
        Drain();
    }

    private void Run()
    {
        var reader = _channel.Reader;
        var formatter = new AccessLogFormatter(_buffer);
        try
        {
            while (WaitToRead(reader))
            {
                var lines = 0;
                while (reader.TryRead(out var entry))
                {
                    try
                    {
                        formatter.Write(entry);
                        lines++;
                    }
                    catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException)
                    {
                        // A bug must not stop the log. The buffer may hold half a line: its lines are lost and counted.
                        _metrics.Dropped(lines + 1);
                        _buffer.ResetWrittenCount();
                        lines = 0;
                        Log.WriteFailed(_logger, ex);
                        formatter.Dispose();
                        formatter = new AccessLogFormatter(_buffer);
                    }

                    if (_buffer.WrittenCount >= FlushBytes)
                    {
                        Flush(lines);
                        lines = 0;
                    }
                }

                Flush(lines);
                ReportDrops();
                if (!reader.Completion.IsCompleted)
                {
                    Task.Delay(GatherInterval, _time).Wait();
                }
            }
        }
        finally
        {
            formatter.Dispose();
        }
    }

    private static bool WaitToRead(ChannelReader<AccessLogEntry> reader)
    {
        var wait = reader.WaitToReadAsync();
        return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    private void Flush(int lines)
    {
        if (_buffer.WrittenCount == 0)
        {
            return;
        }

        try
        {
            lock (_outputLock!)
            {
                _output!.Write(_buffer.WrittenSpan);
                _output.Flush();
            }

            _metrics.Written(lines);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or NotSupportedException or UnauthorizedAccessException)
        {
            _metrics.Dropped(lines);
            if (!_writeFailed)
            {
                _writeFailed = true;
                Log.WriteFailed(_logger, ex);
            }
        }
        finally
        {
            _buffer.ResetWrittenCount();
        }
    }

    private void ReportDrops()
    {
        var dropped = Interlocked.Read(ref _droppedSinceReport);
        if (dropped == 0 || (_reported && _time.GetElapsedTime(_lastReport) < DropReportInterval))
        {
            return;
        }

        Interlocked.Add(ref _droppedSinceReport, -dropped);
        _lastReport = _time.GetTimestamp();
        _reported = true;
        Log.LinesDropped(_logger, dropped);
    }
}
