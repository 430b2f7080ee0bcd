// Watches a file for content changes (the config file, certificate files), including a Kubernetes ConfigMap or Secret
// `..data` symlink swap. Gap: PhysicalFileProvider watches the symlink itself, which never changes when kubelet swaps
// `..data`; we watch the directory for any event and also poll; the caller compares contents.
namespace Gateway.Foundation;

internal sealed class FileWatcher : IDisposable
{
    private static readonly TimeSpan SettleDelay = TimeSpan.FromMilliseconds(150);

    private readonly string _path;
    private readonly string _fileName;
    private readonly Action _onPossibleChange;
    private readonly FileSystemWatcher? _watcher;
    private readonly ITimer _pollTimer;
    private readonly ITimer _settleTimer;

    public FileWatcher(string path, TimeSpan pollInterval, TimeProvider time, Action onPossibleChange)
    {
        _path = path;
        _fileName = System.IO.Path.GetFileName(path);
        _onPossibleChange = onPossibleChange;
        _pollTimer = time.CreateTimer(_ => _onPossibleChange(), null, pollInterval, pollInterval);

        // Editors write in steps; wait until events settle before reading so we do not count a half-written file.
        _settleTimer = time.CreateTimer(_ => _onPossibleChange(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        var directory = System.IO.Path.GetDirectoryName(path);
        if (directory is not null && Directory.Exists(directory))
        {
            _watcher = new FileSystemWatcher(directory)
            {
                IncludeSubdirectories = false,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            _watcher.Changed += OnEvent;
            _watcher.Created += OnEvent;
            _watcher.Renamed += OnEvent;
            _watcher.Deleted += OnEvent;
            _watcher.EnableRaisingEvents = true;
        }
    }

    public string FilePath => _path;

    // Only the file itself (an editor's rename lands on its name) and ConfigMap's / Secret's `..data` / `..<timestamp>` entries:
    // logs or other files written next to it would otherwise restart the settle timer on every write.
    // Anything missed here is still caught by the poll.
    private void OnEvent(object sender, FileSystemEventArgs e)
    {
        var name = e.Name.AsSpan();
        if (name.StartsWith("..", StringComparison.Ordinal) || name.Equals(_fileName, StringComparison.Ordinal))
        {
            _settleTimer.Change(SettleDelay, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _pollTimer.Dispose();
        _settleTimer.Dispose();
    }
}
