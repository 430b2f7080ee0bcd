using System.Collections.Concurrent;
using System.Diagnostics;

namespace Gateway.FunctionalTests.Resilience;

/// <summary>One request of a load run: when it started and ended (seconds since the run began), how it ended.</summary>
public sealed record LoadSample(double StartedAt, double EndedAt, int Status, string? Error)
{
    public bool Failed => Status != 200;
}

/// <summary>
/// Paced GET load: a fixed number of workers together issue about <c>rate</c> requests per second until stopped
/// (or a hard time limit). Each worker keeps its own schedule and skips the slots it missed, so a stall on a slow box
/// lowers the rate instead of being followed by a burst.
/// </summary>
public sealed class SteadyLoad : IAsyncDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<LoadSample> _samples = new();
    private readonly CancellationTokenSource _stop;
    private readonly Task[] _workers;
    private readonly HttpClient _client;

    public SteadyLoad(HttpClient client, string path, int rate, int workers, TimeSpan limit)
    {
        _client = client;
        _stop = new CancellationTokenSource(limit);
        var interval = TimeSpan.FromSeconds((double)workers / rate);
        _workers = new Task[workers];
        for (var i = 0; i < workers; i++)
        {
            var offset = interval * i / workers;
            _workers[i] = Task.Run(() => RunWorkerAsync(path, interval, offset));
        }
    }

    public double Now => _clock.Elapsed.TotalSeconds;

    public IReadOnlyCollection<LoadSample> Samples => _samples.ToArray();

    private async Task RunWorkerAsync(string path, TimeSpan interval, TimeSpan offset)
    {
        var next = offset;
        while (!_stop.IsCancellationRequested)
        {
            var wait = next - _clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            // Behind schedule (a stall on a loaded box): skip the missed slots rather than send them in a burst.
            next = _clock.Elapsed - next > interval ? _clock.Elapsed + interval : next + interval;
            var started = Now;
            try
            {
                using var response = await _client.GetAsync(path);
                await response.Content.ReadAsByteArrayAsync();
                _samples.Enqueue(new LoadSample(started, Now, (int)response.StatusCode, null));
            }
            catch (Exception ex)
            {
                _samples.Enqueue(new LoadSample(started, Now, 0, ex.GetType().Name + ": " + ex.Message));
            }
        }
    }

    public async Task StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_workers);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
