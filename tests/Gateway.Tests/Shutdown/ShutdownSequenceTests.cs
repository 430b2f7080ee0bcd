using Gateway.Foundation;
using Gateway.Pooling;
using Gateway.Shutdown;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Shutdown;

public sealed class ShutdownSequenceTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private static readonly ShutdownOptions Options = new()
    {
        ReadinessDelay = TimeSpan.FromSeconds(5),
        DrainTimeout = TimeSpan.FromSeconds(25),
        PoolCloseTimeout = TimeSpan.FromSeconds(2),
    };

    [Fact]
    public async Task ASecondSigterm_DuringTheReadinessDelay_EndsTheDrainAtOnce_AndTellsTheServerToAbort()
    {
        var (sequence, state, server, time, logger) = Create();

        sequence.OnSigterm();
        Assert.Equal(DrainPhase.ReadinessDelay, state.Phase);
        var stopping = sequence.StoppingAsync(CancellationToken.None);
        Assert.False(stopping.IsCompleted, "phase 2 waits for the readiness delay");

        sequence.OnSigterm();
        await stopping.WaitAsync(Deadline);

        Assert.Equal(DrainPhase.Stopped, state.Phase);
        var stopToken = await server.StopCalled.Task.WaitAsync(Deadline);
        Assert.True(stopToken.IsCancellationRequested, "the server must abort what is left, not wait for it");
        Assert.Equal(Start, time.GetUtcNow());
        Assert.Contains("Second SIGTERM: ending the drain now", logger.Messages);
    }

    [Fact]
    public async Task WithoutASecondSignal_EachPhaseWaitsItsOwnDeadline_AndRequestsStillInFlightAreCounted()
    {
        var (sequence, state, server, time, logger) = Create();
        sequence.OnSigterm();
        state.RequestStarted();
        state.RequestStarted();
        var stopping = sequence.StoppingAsync(CancellationToken.None);

        time.Advance(Options.ReadinessDelay - TimeSpan.FromMilliseconds(1));
        Assert.False(server.StopCalled.Task.IsCompleted, "the listener must keep accepting during the readiness delay");
        Assert.Equal(DrainPhase.ReadinessDelay, state.Phase);

        time.Advance(TimeSpan.FromMilliseconds(1));
        var stopToken = await server.StopCalled.Task.WaitAsync(Deadline);
        Assert.Equal(DrainPhase.Draining, state.Phase);
        Assert.False(stopToken.IsCancellationRequested);

        time.Advance(Options.DrainTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(stopToken.IsCancellationRequested, "in-flight requests get the whole drain timeout");
        Assert.False(stopping.IsCompleted);

        time.Advance(TimeSpan.FromMilliseconds(1));
        await stopping.WaitAsync(Deadline);

        Assert.True(stopToken.IsCancellationRequested);
        Assert.Equal(DrainPhase.Stopped, state.Phase);
        Assert.Contains(logger.Messages, m => m.StartsWith("Drain phase 3 done after 25000 ms; 2 requests were cut at the deadline", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADrainThatEndsInTime_CutsNothing_AndDoesNotWaitForTheDeadline()
    {
        var (sequence, state, server, time, logger) = Create();
        server.FinishesAtOnce = true;
        sequence.BeginDraining("POST /admin/drain");
        var stopping = sequence.StoppingAsync(CancellationToken.None);

        time.Advance(Options.ReadinessDelay);
        await stopping.WaitAsync(Deadline);

        Assert.Equal(DrainPhase.Stopped, state.Phase);
        Assert.Contains(logger.Messages, m => m.StartsWith("Drain phase 3 done after 0 ms; 0 requests were cut", StringComparison.Ordinal));
    }

    [Fact]
    public void BeginDraining_IsIdempotent_AnAdminDrainThenSigterm_StartsOneSequence()
    {
        var (sequence, state, _, _, logger) = Create();

        sequence.BeginDraining("POST /admin/drain");
        sequence.OnSigterm();
        sequence.BeginDraining("host stopping");

        Assert.Equal(DrainPhase.ReadinessDelay, state.Phase);
        var phase1 = Assert.Single(logger.Messages, m => m.StartsWith("Drain phase 1", StringComparison.Ordinal));
        Assert.Contains("POST /admin/drain", phase1, StringComparison.Ordinal);
    }

    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static (ShutdownSequence, DrainState, FakeServer, FakeTimeProvider, ListLogger<ShutdownSequence>) Create()
    {
        var time = new FakeTimeProvider(Start);
        var state = new DrainState();
        var server = new FakeServer();
        var streams = new OpenStreams();
        var pools = new PoolRetirement(new ClusterPools(), streams, new StaticOptionsMonitor<ConnectionPoolOptions>(new()), time, NullLogger<PoolRetirement>.Instance);
        var logger = new ListLogger<ShutdownSequence>();
        var metrics = new ShutdownMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), state, new KnownSeries(new ServiceCollection().BuildServiceProvider()));
        var sequence = new ShutdownSequence(state, server, pools, streams, metrics, new StaticOptionsMonitor<ShutdownOptions>(Options), time, logger);
        return (sequence, state, server, time, logger);
    }

    /// <summary>A server whose StopAsync, like Kestrel's, returns when its requests are done or its token is cancelled.</summary>
    private sealed class FakeServer : IServer
    {
        public TaskCompletionSource<CancellationToken> StopCalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool FinishesAtOnce { get; set; }

        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            StopCalled.TrySetResult(cancellationToken);
            if (!FinishesAtOnce)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
        }

        public void Dispose()
        {
        }
    }
}

internal sealed class StaticOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
