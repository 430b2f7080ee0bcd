// The upstream body of a gRPC response over HTTP/2. Asked to close (at a drain's or a pool retirement's deadline),
// it stops reading the upstream, whose stream SocketsHttpHandler then resets (RST_STREAM CANCEL: the service sees its
// call cancelled), and ends the client's response at a message boundary with the status UNAVAILABLE in its trailers
// (GrpcClosedTrailers): a status gRPC clients know to retry elsewhere, instead of the INTERNAL a cut connection gives.
using Gateway.Foundation;

namespace Gateway.Streams;

internal sealed class GrpcCallStream(Stream inner, HttpContext context, OpenStreams registry) : OpenStream(inner, context, registry)
{
    private readonly GrpcMessageTracker _messages = new();

    public override OpenStreamKind Kind => OpenStreamKind.GrpcCall;

    public override bool CanWrite => false;

    /// <summary>Set once the close ended the body: the trailers transform then adds the status.</summary>
    public bool ClosedByGateway { get; private set; }

    public override Task CloseAsync()
    {
        if (!IsDisposed)
        {
            CancelRead.Cancel();
        }

        return Task.CompletedTask;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var closing = CancelRead.IsCancellationRequested;
        if (closing && _messages.AtBoundary)
        {
            ClosedByGateway = true;
            return 0;
        }

        try
        {
            // Closing inside a message: the rest of it is still read (the close's grace bounds the wait).
            var read = await Inner.ReadAsync(buffer, closing ? cancellationToken : ReadToken(cancellationToken));
            _messages.Advance(buffer.Span[..read]);
            return read;
        }
        catch (Exception) when (CancelRead.IsCancellationRequested && !cancellationToken.IsCancellationRequested && _messages.AtBoundary)
        {
            ClosedByGateway = true;
            return 0;
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();
}

/// <summary>
/// Where the gRPC length-prefixed messages of a body begin and end (1 flag byte, a 4-byte big-endian length, the
/// message), so a close never ends the client's body inside a message, which a client reads as a broken stream.
/// </summary>
internal sealed class GrpcMessageTracker
{
    private int _headerBytes; // of the current 5-byte prefix seen so far
    private uint _length;
    private long _remaining;  // message bytes still to come after a complete prefix

    public bool AtBoundary => _headerBytes == 0 && _remaining == 0;

    public void Advance(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_remaining > 0)
            {
                var take = (int)Math.Min(_remaining, data.Length);
                _remaining -= take;
                data = data[take..];
                continue;
            }

            if (_headerBytes > 0)
            {
                _length = (_length << 8) | data[0];
            }

            _headerBytes++;
            data = data[1..];
            if (_headerBytes == 5)
            {
                _remaining = _length;
                _headerBytes = 0;
                _length = 0;
            }
        }
    }
}
