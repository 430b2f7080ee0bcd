using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>One request exactly as it arrived on the upstream's socket.</summary>
public sealed record RawRequest(int ConnectionId, string Head, byte[] Body, string? FramingError)
{
    public string RequestLine => Head.Split("\r\n")[0];

    public string Method => RequestLine.Split(' ')[0];

    public string Target => RequestLine.Split(' ') is { Length: > 1 } parts ? parts[1] : string.Empty;

    public IReadOnlyList<(string Name, string Value)> Headers { get; } = ParseHeaders(Head);

    public string BodyText => Encoding.Latin1.GetString(Body);

    public string[] Values(string name) => Headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToArray();

    public string? Value(string name) => Values(name) is { Length: > 0 } values ? string.Join(", ", values) : null;

    /// <summary>Everything that differs from what a well-behaved HTTP/1.1 client would send; empty when clean.</summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        if (FramingError is not null)
        {
            problems.Add("framing: " + FramingError);
        }

        for (var i = 0; i < Head.Length; i++)
        {
            var c = Head[i];
            if (c == '\r' && (i + 1 >= Head.Length || Head[i + 1] != '\n'))
            {
                problems.Add($"bare CR at {i}");
            }
            else if (c == '\n' && (i == 0 || Head[i - 1] != '\r'))
            {
                problems.Add($"bare LF at {i}");
            }
            else if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F)
            {
                problems.Add($"control character 0x{(int)c:x2} at {i}");
            }
        }

        var lines = Head.Split("\r\n");
        if (!System.Text.RegularExpressions.Regex.IsMatch(lines[0], @"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ /[\x21-\x7e]* HTTP/1\.1$"))
        {
            problems.Add($"request line is not 'METHOD /origin-form HTTP/1.1': {lines[0]}");
        }

        var target = Target;
        foreach (var dots in new[] { "/../", "/./", "%2e%2e", "%2e/", "/.%2e" })
        {
            if (target.Contains(dots, StringComparison.OrdinalIgnoreCase) || target.EndsWith("/..", StringComparison.Ordinal))
            {
                problems.Add($"target keeps a dot segment: {target}");
                break;
            }
        }

        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0)
            {
                continue;
            }

            if (line[0] is ' ' or '\t')
            {
                problems.Add($"obs-fold line: {line}");
                continue;
            }

            var colon = line.IndexOf(':');
            if (colon <= 0 || !System.Text.RegularExpressions.Regex.IsMatch(line[..colon], @"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"))
            {
                problems.Add($"not a 'token: value' header line: {line}");
            }
        }

        if (Values("Host").Length != 1)
        {
            problems.Add($"{Values("Host").Length} Host headers");
        }

        var lengths = Values("Content-Length");
        var encodings = Values("Transfer-Encoding");
        if (lengths.Length > 1 || (lengths.Length == 1 && !lengths[0].All(char.IsAsciiDigit)))
        {
            problems.Add($"Content-Length not one plain number: {string.Join(" | ", lengths)}");
        }

        if (encodings.Length > 1 || (encodings.Length == 1 && encodings[0] != "chunked"))
        {
            problems.Add($"Transfer-Encoding not exactly 'chunked': {string.Join(" | ", encodings)}");
        }

        if (lengths.Length > 0 && encodings.Length > 0)
        {
            problems.Add("both Content-Length and Transfer-Encoding");
        }

        return problems;
    }

    private static List<(string, string)> ParseHeaders(string head)
    {
        var headers = new List<(string, string)>();
        foreach (var line in head.Split("\r\n").Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon > 0)
            {
                headers.Add((line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
            }
        }

        return headers;
    }
}

/// <summary>
/// A deliberately small raw-TCP HTTP/1.1 upstream: records the exact bytes of every request (head and body as framed
/// on the wire) and answers each with a fixed 200. It frames bodies strictly (one Content-Length, or Transfer-Encoding
/// exactly "chunked"), so anything ambiguous the gateway forwards shows up as a <see cref="RawRequest.FramingError"/>.
/// </summary>
public sealed class RawUpstream : IAsyncDisposable
{
    private const string Response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
    private const int MaxHead = 1024 * 1024;

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _accepting;
    private int _nextConnection;
    private int _inProgress;

    private RawUpstream()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Url => $"http://127.0.0.1:{Port}";

    public ConcurrentQueue<RawRequest> Requests { get; } = new();

    public int ConnectionsAccepted => Volatile.Read(ref _nextConnection);

    /// <summary>Requests whose head arrived but which are not recorded yet (body still being read).</summary>
    public int RequestsInProgress => Volatile.Read(ref _inProgress);

    public static RawUpstream Start() => new();

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            var id = Interlocked.Increment(ref _nextConnection);
            _connections.Add(Task.Run(() => ServeAsync(socket, id)));
        }
    }

    private async Task ServeAsync(Socket socket, int connectionId)
    {
        using var _ = socket;
        var reader = new Reader(socket, _stop.Token);
        try
        {
            while (true)
            {
                var head = await reader.ReadHeadAsync();
                if (head is null)
                {
                    return;
                }

                Interlocked.Increment(ref _inProgress);
                RawRequest request;
                try
                {
                    var (body, bodyError) = await ReadBodyAsync(reader, head);
                    request = new RawRequest(connectionId, head, body, bodyError);
                    Requests.Enqueue(request);
                }
                finally
                {
                    // After the record is queued: "nothing in progress" then means "everything recorded".
                    Interlocked.Decrement(ref _inProgress);
                }

                var error = request.FramingError;
                if (error is not null)
                {
                    // We cannot know where the next request starts: close, as a strict server would.
                    return;
                }

                await socket.SendAsync(Encoding.ASCII.GetBytes(Response), SocketFlags.None, _stop.Token);
                if (request.Value("Connection") is { } connection && connection.Contains("close", StringComparison.OrdinalIgnoreCase))
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or InvalidDataException)
        {
        }
    }

    private static async Task<(byte[] Body, string? Error)> ReadBodyAsync(Reader reader, string head)
    {
        var request = new RawRequest(0, head, [], null);
        var lengths = request.Values("Content-Length");
        var encodings = request.Values("Transfer-Encoding");
        if (lengths.Length > 0 && encodings.Length > 0)
        {
            return ([], "both Content-Length and Transfer-Encoding");
        }

        if (encodings.Length > 0)
        {
            if (encodings.Length != 1 || encodings[0] != "chunked")
            {
                return ([], $"Transfer-Encoding '{string.Join(" | ", encodings)}'");
            }

            return await ReadChunkedAsync(reader);
        }

        if (lengths.Length == 0)
        {
            return ([], null);
        }

        if (lengths.Length > 1 || !long.TryParse(lengths[0], System.Globalization.NumberStyles.None, null, out var length) || length > 64 * 1024 * 1024)
        {
            return ([], $"Content-Length '{string.Join(" | ", lengths)}'");
        }

        var body = await reader.ReadExactlyAsync((int)length);
        return body is null ? ([], "connection closed inside the body") : (body, null);
    }

    private static async Task<(byte[] Body, string? Error)> ReadChunkedAsync(Reader reader)
    {
        // Records the body exactly as framed on the wire (sizes, extensions, CRLFs, trailers).
        var wire = new MemoryStream();
        while (true)
        {
            var line = await reader.ReadLineAsync(4096);
            if (line is null)
            {
                return (wire.ToArray(), "connection closed inside a chunked body");
            }

            wire.Write(Encoding.Latin1.GetBytes(line + "\r\n"));
            var sizeText = line.Split(';')[0];
            if (sizeText.Length == 0 || sizeText.Length > 8 || !sizeText.All(char.IsAsciiHexDigit))
            {
                return (wire.ToArray(), $"bad chunk size line '{line}'");
            }

            var size = Convert.ToInt32(sizeText, 16);
            if (size == 0)
            {
                while (true)
                {
                    var trailer = await reader.ReadLineAsync(8192);
                    if (trailer is null)
                    {
                        return (wire.ToArray(), "connection closed inside trailers");
                    }

                    wire.Write(Encoding.Latin1.GetBytes(trailer + "\r\n"));
                    if (trailer.Length == 0)
                    {
                        return (wire.ToArray(), null);
                    }
                }
            }

            var data = await reader.ReadExactlyAsync(size + 2);
            if (data is null || data[^2] != '\r' || data[^1] != '\n')
            {
                return (wire.ToArray(), "chunk data not followed by CRLF");
            }

            wire.Write(data);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        await Task.WhenAll(_connections.ToArray()).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        _stop.Dispose();
    }

    /// <summary>Buffered reads over a socket; lines end only at CRLF (a bare LF or CR stays part of the line).</summary>
    private sealed class Reader(Socket socket, CancellationToken cancel)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        private async Task<bool> FillAsync()
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                throw new InvalidDataException("line too long");
            }

            var read = await socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancel);
            _end += read;
            return read > 0;
        }

        public async Task<string?> ReadHeadAsync()
        {
            var head = new StringBuilder();
            while (true)
            {
                var line = await ReadLineAsync(MaxHead);
                if (line is null)
                {
                    return head.Length == 0 ? null : head.ToString();
                }

                if (line.Length == 0)
                {
                    if (head.Length == 0)
                    {
                        continue;
                    }

                    return head.ToString(0, head.Length - 2);
                }

                head.Append(line).Append("\r\n");
                if (head.Length > MaxHead)
                {
                    throw new InvalidDataException("head too large");
                }
            }
        }

        public async Task<string?> ReadLineAsync(int max)
        {
            while (true)
            {
                for (var i = _start; i + 1 < _end; i++)
                {
                    if (_buffer[i] == '\r' && _buffer[i + 1] == '\n')
                    {
                        var line = Encoding.Latin1.GetString(_buffer, _start, i - _start);
                        _start = i + 2;
                        return line;
                    }
                }

                if (_end - _start > max)
                {
                    throw new InvalidDataException("line too long");
                }

                if (!await FillAsync())
                {
                    return null;
                }
            }
        }

        public async Task<byte[]?> ReadExactlyAsync(int count)
        {
            var result = new byte[count];
            var copied = 0;
            while (copied < count)
            {
                if (_start == _end && !await FillAsync())
                {
                    return null;
                }

                var n = Math.Min(count - copied, _end - _start);
                Buffer.BlockCopy(_buffer, _start, result, copied, n);
                _start += n;
                copied += n;
            }

            return result;
        }
    }
}
