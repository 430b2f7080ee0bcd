// The proxied streams that never end by themselves (WebSocket tunnels, server-sent event responses) and gRPC calls,
// so the shutdown sequence and pool retirement can end them the way their protocol expects instead of cutting the socket.
// Gap: YARP copies an upgraded connection or a streaming body as opaque bytes until one side closes; at a deadline
// Kestrel can only abort it, which the client and the upstream see as a crash (WebSocket 1006, gRPC INTERNAL from a
// reset stream; YARP #1756, #2622).
namespace Gateway.Foundation;

internal enum OpenStreamKind
{
    WebSocket,
    EventStream,

    /// <summary>
    /// A gRPC response over HTTP/2. It may well end on its own, so it is waited for like any request and closed only at
    /// a deadline (never as the "only open streams left" early exit): the client gets UNAVAILABLE, the upstream a reset.
    /// </summary>
    GrpcCall,
}

/// <summary>One open stream: ends itself cleanly when asked (a close frame, or the end of the body).</summary>
internal interface IOpenStream
{
    OpenStreamKind Kind { get; }

    /// <summary>The request the stream belongs to; aborted if the clean end does not finish it in time.</summary>
    HttpContext Context { get; }

    /// <summary>The cluster pool the stream's upstream connection came from.</summary>
    HttpMessageInvoker? Pool { get; }

    /// <summary>Starts the clean end (idempotent); completes once the closing bytes are written.</summary>
    Task CloseAsync();

    /// <summary>Completes when the stream's request has ended.</summary>
    Task Ended { get; }
}

/// <summary>What <see cref="OpenStreams.CloseAsync"/> did: streams that ended cleanly, by kind, and those it aborted.</summary>
internal readonly record struct ClosedStreams(int WebSockets, int EventStreams, int GrpcCalls, int Aborted)
{
    /// <summary>Every stream the close ended or aborted.</summary>
    public int Total => WebSockets + EventStreams + GrpcCalls + Aborted;
}

internal sealed class OpenStreams
{
    /// <summary>
    /// Time for a closed stream's two ends to see the close before its request is aborted (drain and pool retirement);
    /// well inside the 1 s a drain may overrun its deadline by.
    /// </summary>
    public static readonly TimeSpan CloseGrace = TimeSpan.FromMilliseconds(500);

    private readonly Lock _lock = new();
    private readonly HashSet<IOpenStream> _open = [];
    private int _endless;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>Open streams that never end by themselves (WebSockets, event streams): waiting for them only delays an exit.</summary>
    public int EndlessCount
    {
        get
        {
            lock (_lock)
            {
                return _endless;
            }
        }
    }

    public void Add(IOpenStream stream)
    {
        lock (_lock)
        {
            if (_open.Add(stream) && stream.Kind != OpenStreamKind.GrpcCall)
            {
                _endless++;
            }
        }
    }

    public void Remove(IOpenStream stream)
    {
        lock (_lock)
        {
            if (_open.Remove(stream) && stream.Kind != OpenStreamKind.GrpcCall)
            {
                _endless--;
            }
        }
    }

    /// <summary>
    /// Ends every open stream (or those from <paramref name="pool"/>) cleanly, waits up to <paramref name="grace"/> for
    /// their requests to end, and aborts the requests still running then.
    /// </summary>
    public async Task<ClosedStreams> CloseAsync(TimeSpan grace, TimeProvider time, HttpMessageInvoker? pool = null, CancellationToken cancellationToken = default)
    {
        List<IOpenStream> closing;
        lock (_lock)
        {
            closing = new List<IOpenStream>(_open.Count);
            foreach (var stream in _open)
            {
                if (pool is null || ReferenceEquals(stream.Pool, pool))
                {
                    closing.Add(stream);
                }
            }
        }

        if (closing.Count == 0)
        {
            return default;
        }

        var ended = new Task[closing.Count];
        for (var i = 0; i < closing.Count; i++)
        {
            _ = closing[i].CloseAsync();
            ended[i] = closing[i].Ended;
        }

        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            await Task.WhenAny(Task.WhenAll(ended), Task.Delay(grace, time, wait.Token));
            await wait.CancelAsync();
        }

        int webSockets = 0, eventStreams = 0, grpcCalls = 0, aborted = 0;
        for (var i = 0; i < closing.Count; i++)
        {
            if (!ended[i].IsCompleted)
            {
                aborted++;
                closing[i].Context.Abort();
                continue;
            }

            switch (closing[i].Kind)
            {
                case OpenStreamKind.WebSocket:
                    webSockets++;
                    break;
                case OpenStreamKind.EventStream:
                    eventStreams++;
                    break;
                default:
                    grpcCalls++;
                    break;
            }
        }

        return new ClosedStreams(webSockets, eventStreams, grpcCalls, aborted);
    }
}
