// Gap in YARP: a replaced or removed cluster's invoker is left to the GC, so its connections linger until the
// upstream times them out. We wait for its in-flight requests to end (bounded by a grace period), end its open
// WebSockets and event streams cleanly, then dispose it.
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Pooling;

internal sealed class PoolRetirement(
    ClusterPools pools,
    OpenStreams streams,
    IOptionsMonitor<ConnectionPoolOptions> options,
    TimeProvider time,
    ILogger<PoolRetirement> logger)
{
    // A request may have picked the old cluster model just before the swap without having entered yet.
    private static readonly TimeSpan SettleDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly List<Task> _pending = [];
    private readonly Lock _lock = new();

    public void Retire(ClusterInvoker invoker, string reason)
    {
        var grace = options.CurrentValue.RetirementGracePeriod ?? PoolSettings.DefaultRetirementGracePeriod;
        pools.MarkRetiring(invoker);
        Log.PoolRetiring(logger, invoker.ClusterId, invoker.Generation, reason, invoker.InFlight);
        var task = RetireAsync(invoker, grace, CancellationToken.None);
        lock (_lock)
        {
            _pending.RemoveAll(t => t.IsCompleted);
            _pending.Add(task);
        }
    }

    /// <summary>Retires every current pool and waits for all retirements (shutdown).</summary>
    public async Task RetireAllAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        var tasks = new List<Task>();
        foreach (var invoker in pools.CurrentPools.ToList())
        {
            pools.RemoveCurrent(invoker);
            pools.MarkRetiring(invoker);
            tasks.Add(RetireAsync(invoker, grace, cancellationToken));
        }

        lock (_lock)
        {
            tasks.AddRange(_pending);
        }

        await Task.WhenAll(tasks);
    }

    private async Task RetireAsync(ClusterInvoker invoker, TimeSpan grace, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        try
        {
            await Task.Delay(SettleDelay < grace ? SettleDelay : TimeSpan.Zero, time, cancellationToken);
            while (invoker.InFlight > 0 && time.GetElapsedTime(started) < grace)
            {
                await Task.Delay(PollInterval, time, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutdown deadline: dispose now (the drain has ended the open streams already).
        }

        if (invoker.InFlight > 0 && !cancellationToken.IsCancellationRequested)
        {
            // A WebSocket or event stream outlives any grace period: end it as its protocol expects, not by a reset.
            var closed = await streams.CloseAsync(OpenStreams.CloseGrace, time, invoker, cancellationToken);
            if (closed != default)
            {
                Log.PoolStreamsClosed(logger, invoker.ClusterId, invoker.Generation, closed.WebSockets, closed.EventStreams, closed.GrpcCalls, closed.Aborted);
            }
        }

        var cut = invoker.InFlight;
        invoker.Dispose();
        pools.MarkRetired(invoker);
        Log.PoolRetired(logger, invoker.ClusterId, invoker.Generation, time.GetElapsedTime(started).TotalMilliseconds, cut);
    }
}
