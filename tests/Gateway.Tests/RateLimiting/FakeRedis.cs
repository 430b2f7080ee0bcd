// Just enough of the Redis protocol (RESP2, on a loopback port) for StackExchange.Redis to connect and for the gateway's
// FixedWindow script to run, with windows kept on the test's clock. PartitionLimiter's batch and 'window full' paths
// start from a Redis answer and the store has no other seam (sealed, concrete multiplexer); this answers without a
// redis-server, so the unit tests can drive time and reply order. The script itself runs on a real Redis in the
// functional tests (SharedRateLimitTests); this is a model of it, line for line (RateLimitScripts.FixedWindow).
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Gateway.RateLimiting;

namespace Gateway.Tests.RateLimiting;

internal sealed class FakeRedis : IAsyncDisposable
{
    private static readonly string FixedWindowSha = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(RateLimitScripts.FixedWindow)));

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (long Count, long ExpiresAt)> _counters = new(StringComparer.Ordinal);
    private readonly List<(long Start, long End)> _windows = [];
    private long _granted;
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly ConcurrentQueue<string> _unknown = new();
    private readonly Task _accepting;
    private int _scriptCalls;

    public FakeRedis(TimeProvider time)
    {
        _time = time;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>No admin commands, no reconnect storms: one attempt, a generous timeout for a loaded box.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=10000,syncTimeout=10000,asyncTimeout=10000,connectRetry=1";

    /// <summary>FixedWindow script runs answered so far (each is one round trip from a limiter).</summary>
    public int ScriptCalls => Volatile.Read(ref _scriptCalls);

    /// <summary>Commands this fake does not know (answered with an error); a test can show them when connecting fails.</summary>
    public IEnumerable<string> UnknownCommands => _unknown;

    /// <summary>Permits granted by the script over all windows and keys.</summary>
    public long Granted
    {
        get
        {
            lock (_lock)
            {
                return _granted;
            }
        }
    }

    /// <summary>Every window a counter had, as [start, end) timestamps of the test's clock, in order.</summary>
    public IReadOnlyList<(long Start, long End)> Windows()
    {
        lock (_lock)
        {
            return [.. _windows];
        }
    }

    private Func<Task>? BeforeScriptReply { get; set; }

    /// <summary>
    /// Holds the next script reply back: the script runs (on the clock as it is then), then its reply waits until
    /// <see cref="HeldReply.Release"/>. Later commands on that connection wait behind it, as they would behind a slow
    /// Redis.
    /// </summary>
    public HeldReply HoldNextReply()
    {
        var held = new HeldReply();
        BeforeScriptReply = async () =>
        {
            BeforeScriptReply = null;
            held.Ran.TrySetResult();
            await held.Released.Task.WaitAsync(_stop.Token);
        };
        return held;
    }

    public sealed class HeldReply
    {
        internal TaskCompletionSource Ran { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes once the script has run and its reply is being held.</summary>
        public Task HasRun => Ran.Task;

        public void Release() => Released.TrySetResult();
    }

    /// <summary>What the counter of <paramref name="key"/> holds now (0 once its window ended).</summary>
    public long Count(string key)
    {
        lock (_lock)
        {
            return _counters.TryGetValue(key, out var counter) && _time.GetTimestamp() < counter.ExpiresAt ? counter.Count : 0;
        }
    }

    public IReadOnlyList<string> Keys()
    {
        lock (_lock)
        {
            return [.. _counters.Keys];
        }
    }

    /// <summary>RateLimitScripts.FixedWindow: KEYS[1]; ARGV limit, window ms, wanted. Returns { granted, ms, left }.</summary>
    private long[] FixedWindow(string key, long limit, long windowMs, long want)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            var window = windowMs * _time.TimestampFrequency / 1000;
            var count = _counters.TryGetValue(key, out var counter) && now < counter.ExpiresAt ? counter.Count : 0;
            var free = limit - count;
            if (free > 0)
            {
                var cap = Math.Max(1, free / 16);
                want = Math.Max(1, Math.Min(want, cap));
                long ttl;
                if (count == 0)
                {
                    counter = (want, now + window);
                    ttl = windowMs;
                    _windows.Add((now, now + window));
                }
                else
                {
                    counter = (count + want, counter.ExpiresAt);
                    ttl = Milliseconds(counter.ExpiresAt - now);
                }

                _counters[key] = counter;
                _granted += want;
                return [want, ttl, free - want];
            }

            return [0, Milliseconds(counter.ExpiresAt - now), 0];
        }
    }

    // PTTL: whole milliseconds left, rounded down (never later than the key's real end).
    private long Milliseconds(long ticks) => ticks * 1000 / _time.TimestampFrequency;

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _connections.Add(ServeAsync(client));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        client.NoDelay = true;
        var stream = client.GetStream();
        var reader = new RespReader(stream);
        var subscribed = false;
        try
        {
            while (await reader.ReadCommandAsync(_stop.Token) is { } command)
            {
                var reply = new StringBuilder();
                var name = command[0].ToUpperInvariant();
                switch (name)
                {
                    case "PING":
                        reply.Append(subscribed ? "*2\r\n$4\r\npong\r\n$0\r\n\r\n" : "+PONG\r\n");
                        break;
                    case "ECHO":
                        Bulk(reply, command[1]);
                        break;
                    case "GET":
                        reply.Append("$-1\r\n"); // the client's tie-break key: none
                        break;
                    case "SELECT" or "CLIENT" or "READONLY":
                        reply.Append("+OK\r\n");
                        break;
                    case "INFO":
                        Bulk(reply, "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
                        break;
                    case "SUBSCRIBE" or "SSUBSCRIBE" or "PSUBSCRIBE":
                        subscribed = true;
                        for (var i = 1; i < command.Length; i++)
                        {
                            reply.Append("*3\r\n");
                            Bulk(reply, command[0].ToLowerInvariant());
                            Bulk(reply, command[i]);
                            reply.Append(CultureInfo.InvariantCulture, $":{i}\r\n");
                        }

                        break;
                    case "SCRIPT" when command.Length > 2 && command[1].Equals("LOAD", StringComparison.OrdinalIgnoreCase):
                        Bulk(reply, Convert.ToHexStringLower(SHA1.HashData(Encoding.Latin1.GetBytes(command[2]))));
                        break;
                    case "EVAL" or "EVALSHA":
                        if ((name == "EVAL" ? command[1] == RateLimitScripts.FixedWindow : command[1].Equals(FixedWindowSha, StringComparison.OrdinalIgnoreCase)) && command[2] == "1")
                        {
                            var arguments = command.Skip(4).Select(a => long.Parse(a, CultureInfo.InvariantCulture)).ToArray();
                            var result = FixedWindow(command[3], arguments[0], arguments[1], arguments.Length > 2 ? arguments[2] : 1);
                            Interlocked.Increment(ref _scriptCalls);
                            if (BeforeScriptReply is { } hold)
                            {
                                await hold();
                            }

                            reply.Append(CultureInfo.InvariantCulture, $"*{result.Length}\r\n");
                            foreach (var value in result)
                            {
                                reply.Append(CultureInfo.InvariantCulture, $":{value}\r\n");
                            }
                        }
                        else
                        {
                            reply.Append(name == "EVALSHA" ? "-NOSCRIPT No matching script.\r\n" : "-ERR this fake runs only the FixedWindow script\r\n");
                        }

                        break;
                    default:
                        _unknown.Enqueue(string.Join(' ', command.Take(3)));
                        reply.Append(CultureInfo.InvariantCulture, $"-ERR unknown command '{command[0]}'\r\n");
                        break;
                }

                await stream.WriteAsync(Encoding.Latin1.GetBytes(reply.ToString()), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static void Bulk(StringBuilder reply, string value) =>
        reply.Append(CultureInfo.InvariantCulture, $"${value.Length}\r\n{value}\r\n");

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        await Task.WhenAll(_connections);
        _stop.Dispose();
    }

    /// <summary>Reads the arrays of bulk strings a client sends, as Latin-1 so binary arguments (ECHO's tracer) survive the round trip.</summary>
    private sealed class RespReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _start;
        private int _end;

        public async Task<string[]?> ReadCommandAsync(CancellationToken cancellationToken)
        {
            var header = await ReadLineAsync(cancellationToken);
            if (header is null)
            {
                return null;
            }

            if (header[0] != '*')
            {
                return header.Split(' ', StringSplitOptions.RemoveEmptyEntries); // inline command
            }

            var count = int.Parse(header.AsSpan(1), CultureInfo.InvariantCulture);
            var parts = new string[count];
            for (var i = 0; i < count; i++)
            {
                var length = int.Parse((await ReadLineAsync(cancellationToken))!.AsSpan(1), CultureInfo.InvariantCulture);
                var bytes = new byte[length + 2];
                await ReadExactlyAsync(bytes, cancellationToken);
                parts[i] = Encoding.Latin1.GetString(bytes, 0, length);
            }

            return parts;
        }

        private async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            var line = new List<byte>();
            while (true)
            {
                if (_start == _end && !await FillAsync(cancellationToken))
                {
                    return null;
                }

                var b = _buffer[_start++];
                if (b == '\n' && line.Count > 0 && line[^1] == '\r')
                {
                    return Encoding.Latin1.GetString(line.ToArray(), 0, line.Count - 1);
                }

                line.Add(b);
            }
        }

        private async Task ReadExactlyAsync(byte[] into, CancellationToken cancellationToken)
        {
            var at = 0;
            while (at < into.Length)
            {
                if (_start == _end && !await FillAsync(cancellationToken))
                {
                    throw new IOException("connection closed mid-command");
                }

                var n = Math.Min(into.Length - at, _end - _start);
                Array.Copy(_buffer, _start, into, at, n);
                _start += n;
                at += n;
            }
        }

        private async Task<bool> FillAsync(CancellationToken cancellationToken)
        {
            _start = 0;
            _end = await stream.ReadAsync(_buffer, cancellationToken);
            return _end > 0;
        }
    }
}
