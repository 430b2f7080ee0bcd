namespace Gateway.Discovery;

/// <summary>
/// A provider's background loop: started once, stopped and awaited any number of times (a DI container disposes a
/// shared instance once per registration, and a reload may stop a provider the host stops again at exit).
/// </summary>
internal sealed class BackgroundLoop(Func<CancellationToken, Task> run) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    /// <summary>Starts the loop on the thread pool; a second call, or one after <see cref="DisposeAsync"/>, does nothing.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_loop is not null)
            {
                return;
            }

            _stopping = new CancellationTokenSource();
            var token = _stopping.Token;
            _loop = Task.Run(() => run(token), CancellationToken.None);
        }
    }

    public async Task StopAsync()
    {
        Task? loop;
        lock (_gate)
        {
            loop = _loop;
            _stopping?.Cancel();
        }

        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        CancellationTokenSource? stopping;
        lock (_gate)
        {
            stopping = _stopping;
            _stopping = null;
        }

        stopping?.Dispose();
    }
}
