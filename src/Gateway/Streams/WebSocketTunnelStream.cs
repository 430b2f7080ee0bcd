// The upstream side of a proxied WebSocket (what YARP reads from and writes to after the 101). Asked to close, it
// sends 1001 Going Away to both ends at the next frame boundary of each direction: a masked close frame written to
// the upstream, and an unmasked one handed to YARP as the upstream's next bytes for the client; then it ends the
// upstream direction so YARP finishes the request. Bytes past the boundary are dropped (nothing may follow a close).
using System.Buffers.Binary;
using System.Security.Cryptography;
using Gateway.Foundation;
using Microsoft.AspNetCore.Connections.Features;

namespace Gateway.Streams;

internal sealed class WebSocketTunnelStream(Stream inner, HttpContext context, OpenStreams registry) : OpenStream(inner, context, registry)
{
    private const ushort GoingAway = 1001;
    private static readonly byte[] Reason = "going away"u8.ToArray();

    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    private WebSocketFrameTracker _toClient;   // frames the upstream sends, read by YARP for the client
    private WebSocketFrameTracker _toUpstream; // frames the client sends, written by YARP to the upstream
    private bool _closing;
    private bool _readPending;
    private bool _upstreamCloseSent;
    private int _clientClose; // 0 not yet, 1 handed to YARP, then end of stream

    private readonly Task? _connectionClosed = ConnectionClosed(context);

    public override OpenStreamKind Kind => OpenStreamKind.WebSocket;

    /// <summary>
    /// The upgraded connection closed: only then has the close frame left the socket. An abort of the server before
    /// that (the drain deadline) would drop it with the rest of the unsent output.
    /// </summary>
    public override Task Ended => _connectionClosed ?? base.Ended;

    public override bool CanWrite => true;

    public override async Task CloseAsync()
    {
        lock (_lock)
        {
            if (_closing)
            {
                return;
            }

            _closing = true;
        }

        await _writeLock.WaitAsync();
        try
        {
            if (!_upstreamCloseSent && _toUpstream.AtBoundary)
            {
                await SendUpstreamCloseAsync();
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The upstream is gone already; the client still gets its close frame.
            _upstreamCloseSent = true;
        }
        finally
        {
            _writeLock.Release();
        }

        UnblockReadAtBoundary();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_clientClose > 0)
            {
                return 0;
            }

            if (_closing && _toClient.AtBoundary && _upstreamCloseSent)
            {
                return HandOverClientClose(buffer.Span);
            }

            _readPending = true;
        }

        int read;
        try
        {
            read = await Inner.ReadAsync(buffer, ReadToken(cancellationToken));
        }
        catch (Exception) when (CancelRead.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Cancelled by CloseAsync between two frames, once the upstream has its close frame (the handler drops the
            // upstream connection on a cancelled read, which is why that frame goes first).
            lock (_lock)
            {
                _readPending = false;
                return HandOverClientClose(buffer.Span);
            }
        }

        lock (_lock)
        {
            _readPending = false;
            if (read == 0 || !_closing)
            {
                _toClient.Advance(buffer.Span[..read], stopAtBoundary: false);
                return read;
            }

            var taken = _toClient.Advance(buffer.Span[..read], stopAtBoundary: true);
            return taken > 0 ? taken : HandOverClientClose(buffer.Span);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (_upstreamCloseSent)
            {
                return; // the client's frames after our close (its close reply included) have nowhere to go
            }

            if (!Volatile.Read(ref _closing))
            {
                _toUpstream.Advance(buffer.Span, stopAtBoundary: false);
                await Inner.WriteAsync(buffer, cancellationToken);
                return;
            }

            var taken = _toUpstream.Advance(buffer.Span, stopAtBoundary: true);
            if (taken > 0)
            {
                await Inner.WriteAsync(buffer[..taken], cancellationToken);
            }

            if (_toUpstream.AtBoundary)
            {
                await SendUpstreamCloseAsync();
            }
        }
        finally
        {
            _writeLock.Release();
        }

        UnblockReadAtBoundary();
    }

    /// <summary>Holding the write lock.</summary>
    private async Task SendUpstreamCloseAsync()
    {
        var frame = new byte[2 + 4 + 2 + Reason.Length];
        frame[0] = 0x88; // FIN, close
        frame[1] = (byte)(0x80 | (2 + Reason.Length)); // masked: client-to-server frames must be (RFC 6455 5.3)
        RandomNumberGenerator.Fill(frame.AsSpan(2, 4));
        WritePayload(frame.AsSpan(6));
        for (var i = 0; i < 2 + Reason.Length; i++)
        {
            frame[6 + i] ^= frame[2 + (i & 3)];
        }

        _upstreamCloseSent = true;
        await Inner.WriteAsync(frame);
        await Inner.FlushAsync();
    }

    /// <summary>Once the upstream has its close frame, a read waiting between two frames can stop waiting.</summary>
    private void UnblockReadAtBoundary()
    {
        bool cancel;
        lock (_lock)
        {
            cancel = _closing && _upstreamCloseSent && _readPending && _toClient.AtBoundary && _clientClose == 0;
        }

        if (cancel)
        {
            CancelRead.Cancel();
        }
    }

    /// <summary>Holding <see cref="_lock"/>.</summary>
    private int HandOverClientClose(Span<byte> buffer)
    {
        if (buffer.Length == 0)
        {
            return 0; // YARP's zero-byte read (waiting for data before renting a buffer): "ready", the frame goes next
        }

        _clientClose = 1;
        var length = 2 + 2 + Reason.Length;
        if (buffer.Length < length)
        {
            return 0; // YARP reads with kilobytes; a tiny buffer just ends the stream
        }

        buffer[0] = 0x88;
        buffer[1] = (byte)(2 + Reason.Length);
        WritePayload(buffer[2..]);
        return length;
    }

    private static void WritePayload(Span<byte> payload)
    {
        BinaryPrimitives.WriteUInt16BigEndian(payload, GoingAway);
        Reason.CopyTo(payload[2..]);
    }

    private static Task? ConnectionClosed(HttpContext context)
    {
        var closed = context.Features.Get<IConnectionLifetimeFeature>()?.ConnectionClosed ?? default;
        if (!closed.CanBeCanceled)
        {
            return null;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        closed.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), done);
        return done.Task;
    }
}
