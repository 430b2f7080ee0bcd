// What both open-stream wrappers share: the registry entry, the end signal, and a read token that their close can
// cancel (linked once to YARP's activity token, which is the same for every read of a copy).
using Gateway.Foundation;

namespace Gateway.Streams;

internal abstract class OpenStream(Stream inner, HttpContext context, OpenStreams registry) : Stream, IOpenStream
{
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationToken _linkedFor;
    private CancellationTokenSource? _linked;
    private int _disposed;

    protected Stream Inner => inner;

    /// <summary>Cancels the read in progress (the handler then drops the upstream connection).</summary>
    protected CancellationTokenSource CancelRead { get; } = new();

    protected bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public abstract OpenStreamKind Kind { get; }

    public HttpContext Context => context;

    public HttpMessageInvoker? Pool { get; } = context.Features.Get<Yarp.ReverseProxy.Model.IReverseProxyFeature>()?.Cluster?.HttpClient;

    /// <summary>When the stream's request is over: by default once YARP has disposed the stream.</summary>
    public virtual Task Ended => _ended.Task;

    public abstract Task CloseAsync();

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public abstract override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>Registers the stream; YARP disposes it when the request's copy ends.</summary>
    public OpenStream Open()
    {
        registry.Add(this);
        return this;
    }

    protected CancellationToken ReadToken(CancellationToken token)
    {
        if (!token.CanBeCanceled)
        {
            return CancelRead.Token;
        }

        if (_linked is null || _linkedFor != token)
        {
            _linked?.Dispose();
            _linked = CancellationTokenSource.CreateLinkedTokenSource(token, CancelRead.Token);
            _linkedFor = token;
        }

        return _linked.Token;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            registry.Remove(this);
            inner.Dispose();
            _linked?.Dispose();
            _ended.TrySetResult();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        Dispose(true);
        await base.DisposeAsync();
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
