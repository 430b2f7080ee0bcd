using System.Collections.Concurrent;
using Gateway.Discovery;
using Gateway.TestSupport;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Discovery;

/// <summary>Collects what a discovery source publishes, to wait on and assert.</summary>
internal sealed class UpdateRecorder
{
    private readonly ConcurrentQueue<DiscoveryUpdate> _updates = new();
    private int _cursor;

    public Action<DiscoveryUpdate> Callback => _updates.Enqueue;

    public IReadOnlyList<DiscoveryUpdate> Updates => _updates.ToArray();

    public DiscoveryUpdate? Last => _updates.LastOrDefault();

    /// <summary>
    /// Waits for the first set published after the one the previous wait returned that satisfies <paramref name="condition"/>,
    /// and returns it (so a test waits for each step in turn, never for an old set that happens to match).
    /// </summary>
    public async Task<DiscoveryUpdate> WaitForAsync(Func<IReadOnlyList<DiscoveredEndpoint>, bool> condition, string what, TimeSpan? timeout = null)
    {
        (DiscoveryUpdate Update, int Index)? found = null;
        await Wait.UntilAsync(
            () => (found = _updates.Select((u, i) => (u, i)).Skip(_cursor).Where(x => condition(x.u.Endpoints)).Select(x => ((DiscoveryUpdate, int)?)x).FirstOrDefault()) is not null,
            timeout ?? TimeSpan.FromSeconds(20),
            what + "; published: " + string.Join(" | ", _updates.Select(Describe)));
        _cursor = found!.Value.Index + 1;
        return found.Value.Update;
    }

    public static string Describe(DiscoveryUpdate update) =>
        update.Reason + ": " + string.Join(", ", update.Endpoints.Select(e => $"{e.Id}={e.Address}/{e.Condition}"));
}

/// <summary>An ILogger that keeps every entry (to assert on event ids) and echoes it to the test output.</summary>
internal sealed class RecordingLogger(ITestOutputHelper output) : ILogger
{
    private readonly ConcurrentQueue<(EventId Id, LogLevel Level, string Message)> _entries = new();

    public IReadOnlyList<(EventId Id, LogLevel Level, string Message)> Entries => _entries.ToArray();

    public int Count(int eventId) => _entries.Count(e => e.Id.Id == eventId);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var message = formatter(state, exception);
        _entries.Enqueue((eventId, logLevel, message));
        try
        {
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {eventId.Id}: {message}");
        }
        catch (InvalidOperationException)
        {
            // the test has finished; the loop may still log while it stops
        }
    }
}
