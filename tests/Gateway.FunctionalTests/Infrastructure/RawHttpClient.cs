using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>One parsed HTTP/1.x response read off a raw socket.</summary>
public sealed record RawResponse(int Status, string Head, string Body);

/// <summary>What came back on one raw connection.</summary>
public sealed record RawExchange(IReadOnlyList<RawResponse> Responses, bool ClosedByServer, bool Reset, string Trailing)
{
    public override string ToString() =>
        $"{Responses.Count} responses [{string.Join(", ", Responses.Select(r => r.Status))}], closed={ClosedByServer}, reset={Reset}" +
        (Trailing.Length > 0 ? $", unparsed: {Trailing[..Math.Min(200, Trailing.Length)]}" : string.Empty);
}

/// <summary>
/// Writes exact bytes to a socket (HttpClient refuses to send malformed requests) and parses what comes back.
/// </summary>
public sealed class RawHttpClient : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _received = [];
    private bool _closed;
    private bool _reset;

    private RawHttpClient(Socket socket) => _socket = socket;

    public Socket Socket => _socket;

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/>, optionally from another loopback source address (127.0.0.2).</summary>
    public static async Task<RawHttpClient> ConnectAsync(int port, IPAddress? source = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (source is not null)
        {
            socket.Bind(new IPEndPoint(source, 0));
        }

        await socket.ConnectAsync(IPAddress.Loopback, port);
        return new RawHttpClient(socket);
    }

    public async Task SendAsync(string text) => await SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        try
        {
            await _socket.SendAsync(bytes, SocketFlags.None);
        }
        catch (SocketException)
        {
            // The gateway may close while we are still writing (e.g. an oversized header block); reading tells the rest.
        }
    }

    /// <summary>Reads until <paramref name="responses"/> complete responses arrived or the server closed, within <paramref name="timeout"/>.</summary>
    public async Task<RawExchange> ReadAsync(int responses, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var buffer = new byte[16 * 1024];
        while (!_closed)
        {
            var parsed = Parse(out _);
            if (parsed.Count >= responses)
            {
                break;
            }

            try
            {
                var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (read == 0)
                {
                    _closed = true;
                }
                else
                {
                    _received.AddRange(buffer.AsSpan(0, read));
                }
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no response after {timeout.TotalSeconds} s; got so far: {Encoding.Latin1.GetString(_received.ToArray())}");
            }
            catch (SocketException)
            {
                _closed = true;
                _reset = true;
            }
        }

        var all = Parse(out var trailing);
        return new RawExchange(all, _closed, _reset, trailing);
    }

    /// <summary>Reads until the server closes the connection (or <paramref name="timeout"/> passes: returns false).</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        try
        {
            await ReadAsync(int.MaxValue, timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private List<RawResponse> Parse(out string trailing)
    {
        var text = Encoding.Latin1.GetString(_received.ToArray());
        var responses = new List<RawResponse>();
        var position = 0;
        while (true)
        {
            var end = text.IndexOf("\r\n\r\n", position, StringComparison.Ordinal);
            if (end < 0)
            {
                break;
            }

            var head = text[position..end];
            var statusLine = head.Split("\r\n")[0].Split(' ');
            if (statusLine.Length < 2 || !statusLine[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(statusLine[1], out var status))
            {
                break;
            }

            var bodyStart = end + 4;
            var length = 0;
            var chunked = false;
            foreach (var line in head.Split("\r\n").Skip(1))
            {
                if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                {
                    length = int.Parse(line["Content-Length:".Length..].Trim());
                }
                else if (line.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase) && line.Contains("chunked", StringComparison.OrdinalIgnoreCase))
                {
                    chunked = true;
                }
            }

            if (chunked)
            {
                var terminator = text.IndexOf("0\r\n\r\n", bodyStart, StringComparison.Ordinal);
                if (terminator < 0)
                {
                    break;
                }

                responses.Add(new RawResponse(status, head, text[bodyStart..terminator]));
                position = terminator + 5;
            }
            else
            {
                if (bodyStart + length > text.Length)
                {
                    break;
                }

                responses.Add(new RawResponse(status, head, text.Substring(bodyStart, length)));
                position = bodyStart + length;
            }
        }

        trailing = text[position..];
        return responses;
    }

    public void Dispose() => _socket.Dispose();
}
