// The graceful-drain shutdown: readiness 503 -> keep serving for ReadinessDelay -> stop accepting and drain
// in-flight requests up to DrainTimeout (open WebSockets and event streams are ended cleanly as soon as nothing else
// is in flight, or at the deadline) -> retire every upstream pool -> exit 0.
// Gap: ASP.NET Core stops Kestrel the moment SIGTERM arrives (while Kubernetes may still route new connections
// to the pod) and bounds the whole drain by one HostOptions.ShutdownTimeout; we add the readiness phase, our own
// phase deadlines, pool disposal, and a second SIGTERM that ends it at once.
using System.Diagnostics;
using System.Runtime.InteropServices;
using Gateway.Foundation;
using Gateway.Pooling;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.Options;

namespace Gateway.Shutdown;

internal sealed class ShutdownSequence(
    DrainState state,
    IServer server,
    PoolRetirement pools,
    OpenStreams streams,
    ShutdownMetrics metrics,
    IOptionsMonitor<ShutdownOptions> options,
    TimeProvider time,
    ILogger<ShutdownSequence> logger) : IHostedLifecycleService, IDisposable
{
    private static readonly TimeSpan StreamPollInterval = TimeSpan.FromMilliseconds(50);

    private readonly CancellationTokenSource _hurry = new();
    private PosixSignalRegistration? _sigterm;
    private int _signals;
    private long _startedAt;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        // Runs beside the host's own SIGTERM handler: readiness must turn at once, and a second SIGTERM must hurry.
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => OnSigterm());
        return Task.CompletedTask;
    }

    /// <summary>The first SIGTERM starts draining; a second one ends the drain now (every phase stops waiting).</summary>
    internal void OnSigterm()
    {
        if (Interlocked.Increment(ref _signals) == 1)
        {
            BeginDraining("SIGTERM");
        }
        else
        {
            Log.SecondSignal(logger);
            _hurry.Cancel();
        }
    }

    /// <summary>Phase 1: readiness fails from now on; idempotent.</summary>
    public void BeginDraining(string trigger)
    {
        if (state.Phase == DrainPhase.Serving)
        {
            Interlocked.CompareExchange(ref _startedAt, time.GetTimestamp(), 0);
            state.Enter(DrainPhase.ReadinessDelay);
            Log.Phase1(logger, trigger, state.InFlight);
        }
    }

    /// <summary>Runs after the host is told to stop and before it stops the server: phases 2 to 4.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        BeginDraining("host stopping");
        var settings = options.CurrentValue;
        using var hurry = CancellationTokenSource.CreateLinkedTokenSource(_hurry.Token, cancellationToken);

        // Phase 2: keep serving so endpoint removal propagates; clients are told to reconnect elsewhere.
        var servedBefore = state.Served;
        Log.Phase2(logger, settings.ReadinessDelay.TotalSeconds);
        await DelayAsync(settings.ReadinessDelay, hurry.Token);

        // Phase 3: stop accepting and drain. Kestrel closes idle connections, sends HTTP/2 GOAWAY, waits for
        // in-flight requests and aborts what is left when our deadline fires.
        state.Enter(DrainPhase.Draining);
        Log.Phase3(logger, state.Served - servedBefore, state.InFlight, settings.DrainTimeout.TotalSeconds);
        var drainStarted = time.GetTimestamp();
        var cut = 0;
        using (var abort = new CancellationTokenSource())
        {
            var stopping = server.StopAsync(abort.Token);
            var onlyStreamsLeft = await WaitForDrainAsync(stopping, settings.DrainTimeout, hurry.Token);
            if (!stopping.IsCompleted && streams.Count > 0)
            {
                // WebSockets and event streams never end by themselves: waiting longer for them only delays the exit.
                // gRPC calls are closed here too, at the deadline (they were waited for as ordinary requests).
                var inFlight = state.InFlight;
                var closed = await streams.CloseAsync(OpenStreams.CloseGrace, time, cancellationToken: hurry.Token);
                metrics.StreamsClosed(closed);

                // A stream's request leaves the in-flight count a moment after its stream ends: not one to count as cut.
                var others = inFlight - closed.Total;
                await PollAsync(() => state.InFlight <= others, StreamPollInterval * 4, hurry.Token);
                Log.StreamsClosed(logger, closed.WebSockets, closed.EventStreams, closed.GrpcCalls, onlyStreamsLeft ? "only open streams left" : "deadline", closed.Aborted);
                if (onlyStreamsLeft)
                {
                    await WaitAsync(stopping, settings.DrainTimeout - time.GetElapsedTime(drainStarted), hurry.Token);
                }
                else if (state.InFlight == 0)
                {
                    // Past the deadline, but nothing is left to cut: Kestrel is closing the connections the closed streams
                    // were on. Aborting now could drop their last frames (a gRPC call's trailers, a close frame).
                    await WaitAsync(stopping, OpenStreams.CloseGrace, hurry.Token);
                }
            }

            if (!stopping.IsCompleted)
            {
                // Counted before the server is told to abort, so no abort can finish a request first.
                cut = state.InFlight;
                metrics.RequestsCut(cut);
                abort.Cancel();
            }

            try
            {
                await stopping;
            }
            catch (OperationCanceledException)
            {
            }
        }

        Log.Phase3Done(logger, time.GetElapsedTime(drainStarted).TotalMilliseconds, cut);

        // Phase 4: every request is finished or cut; close upstream connections cleanly (FIN, not RST).
        state.Enter(DrainPhase.RetiringPools);
        using (var poolTimeout = new CancellationTokenSource(settings.PoolCloseTimeout, time))
        using (var poolDeadline = CancellationTokenSource.CreateLinkedTokenSource(hurry.Token, poolTimeout.Token))
        {
            await pools.RetireAllAsync(settings.PoolCloseTimeout, poolDeadline.Token);
        }

        state.Enter(DrainPhase.Stopped);
        Log.Done(logger, time.GetElapsedTime(_startedAt).TotalMilliseconds);
    }

    /// <summary>
    /// Waits for the server to stop, at most <paramref name="timeout"/>; true when it stopped waiting early because every
    /// request still in flight is an open stream.
    /// </summary>
    private async Task<bool> WaitForDrainAsync(Task stopping, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var deadline = Task.Delay(timeout, time, wait.Token);
            while (!stopping.IsCompleted && !deadline.IsCompleted)
            {
                var open = streams.EndlessCount;
                if (open > 0 && state.InFlight <= open)
                {
                    return true;
                }

                await Task.WhenAny(stopping, deadline, Task.Delay(StreamPollInterval, time, wait.Token));
            }

            return false;
        }
        finally
        {
            await wait.CancelAsync();
        }
    }

    private async Task PollAsync(Func<bool> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (!done() && time.GetElapsedTime(started) < timeout && !cancellationToken.IsCancellationRequested)
        {
            await DelayAsync(TimeSpan.FromMilliseconds(10), cancellationToken);
        }
    }

    /// <summary>Returns when <paramref name="task"/> completes, <paramref name="timeout"/> has passed or the token is cancelled.</summary>
    private async Task WaitAsync(Task task, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await Task.WhenAny(task, Task.Delay(timeout, time, wait.Token));
        await wait.CancelAsync(); // stops the timer when the task won
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _sigterm?.Dispose();
        _hurry.Dispose();
    }
}
