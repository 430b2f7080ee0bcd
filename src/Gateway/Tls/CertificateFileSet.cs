// One certificate (or CA bundle) from watched files: the last good value serves until a changed file loads and passes
// the same checks as at start; a broken change is logged once per content and counted, never applied.
using Gateway.Foundation;

namespace Gateway.Tls;

internal sealed class CertificateFileSet<T> : IDisposable
    where T : class
{
    private readonly string _owner;
    private readonly string?[] _paths;
    private readonly Func<DateTime, (T? Value, string? Error)> _load;
    private readonly TlsMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<T, (string Subject, DateTime NotAfter)> _describe;
    private readonly FileWatcher[] _watchers;
    private readonly Lock _lock = new();
    private byte[] _applied;
    private byte[]? _rejected;
    private T _current;

    /// <summary>Loads <paramref name="paths"/> now; throws <see cref="InvalidOperationException"/> when they do not load (the start-up checks ran first).</summary>
    public CertificateFileSet(
        string owner, string name, string?[] paths, Func<DateTime, (T? Value, string? Error)> load, Func<T, (string Subject, DateTime NotAfter)> describe,
        TimeSpan pollInterval, TlsMetrics metrics, TimeProvider time, ILogger logger)
    {
        _owner = owner;
        Name = name;
        _paths = paths;
        _load = load;
        _describe = describe;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _applied = CertificateFiles.Fingerprint(paths);
        var (value, error) = load(time.GetUtcNow().UtcDateTime);
        _current = value ?? throw new InvalidOperationException(error);
        var watched = new List<FileWatcher>();
        foreach (var path in paths.OfType<string>().Distinct(StringComparer.Ordinal))
        {
            watched.Add(new FileWatcher(path, pollInterval, time, Check));
        }

        _watchers = [.. watched];
    }

    public string Name { get; }

    /// <summary>The last good value; read on every handshake.</summary>
    public T Current => Volatile.Read(ref _current);

    /// <summary>Raised after a new value was applied (outside the lock).</summary>
    public event Action? Applied;

    /// <summary>Re-reads the files; applies them when their content changed and they pass. Safe to call often.</summary>
    public void Check()
    {
        var applied = false;
        try
        {
            lock (_lock)
            {
                var fingerprint = CertificateFiles.Fingerprint(_paths);
                if (fingerprint.AsSpan().SequenceEqual(_applied) || (_rejected is not null && fingerprint.AsSpan().SequenceEqual(_rejected)))
                {
                    return;
                }

                var (value, error) = _load(_time.GetUtcNow().UtcDateTime);
                if (value is null)
                {
                    _rejected = fingerprint;
                    _metrics.Reload(applied: false);
                    Log.CertificateRejected(_logger, _owner, Name, error ?? "not loaded");
                    return;
                }

                _applied = fingerprint;
                _rejected = null;
                Volatile.Write(ref _current, value);
                _metrics.Reload(applied: true);
                var (subject, notAfter) = _describe(value);
                Log.CertificateRotated(_logger, _owner, Name, subject, notAfter);
                applied = true;
            }
        }
        catch (Exception ex)
        {
            // Never take a listener down over a file: the last good certificate keeps serving.
            Log.CertificateCheckFailed(_logger, _owner, Name, ex);
        }

        if (applied)
        {
            Applied?.Invoke();
        }
    }

    public void Dispose()
    {
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }
    }
}
