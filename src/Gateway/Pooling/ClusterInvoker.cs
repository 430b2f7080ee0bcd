// The one long-lived invoker of a cluster: a SocketsHttpHandler pool plus what we need to retire it safely.
namespace Gateway.Pooling;

internal sealed class ClusterInvoker(string clusterId, int generation, PoolSettings settings, PoolStats stats, HttpMessageHandler handler)
    : HttpMessageInvoker(handler, disposeHandler: true)
{
    private int _inFlight;
    private int _disposed;

    public string ClusterId { get; } = clusterId;

    public int Generation { get; } = generation;

    public PoolSettings Settings { get; } = settings;

    /// <summary>What each <see cref="IPoolHandlerSetup"/> built this pool with, in registration order.</summary>
    public object?[] HandlerSettings { get; init; } = [];

    public PoolStats Stats { get; } = stats;

    /// <summary>Requests between routing and the end of the response body (tracked by the proxy pipeline).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public void Enter() => Interlocked.Increment(ref _inFlight);

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    public override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Stats.RequestSent();
        return base.SendAsync(request, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            base.Dispose(disposing);
        }
    }
}
