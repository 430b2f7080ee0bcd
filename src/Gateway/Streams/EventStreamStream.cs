// The upstream body of a server-sent event response. Asked to close, it ends as if the upstream had finished, so
// YARP completes the response (the last chunk over HTTP/1.1, END_STREAM over HTTP/2): the client sees a stream that
// ended, reconnects as EventSource does, and never a reset. The upstream connection is dropped, not reused.
using Gateway.Foundation;

namespace Gateway.Streams;

internal sealed class EventStreamStream(Stream inner, HttpContext context, OpenStreams registry) : OpenStream(inner, context, registry)
{
    public override OpenStreamKind Kind => OpenStreamKind.EventStream;

    public override bool CanWrite => false;

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
        if (CancelRead.IsCancellationRequested)
        {
            return 0;
        }

        try
        {
            return await Inner.ReadAsync(buffer, ReadToken(cancellationToken));
        }
        catch (Exception) when (CancelRead.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return 0; // an event not fully received is dropped, as EventSource drops one cut by the end of the stream
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();
}
