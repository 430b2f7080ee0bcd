using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Gateway.TestSupport;

/// <summary>
/// Runs the real kubectl (tests/run.sh installs it when missing) against a kubeconfig, in a private HOME and discovery cache
/// so nothing from the machine's ~/.kube leaks in. Every process is ended by its PID.
/// </summary>
public sealed class Kubectl : IDisposable
{
    private readonly string _kubeConfig;
    private readonly string _home;

    public Kubectl(string kubeConfig)
    {
        _kubeConfig = kubeConfig;
        _home = Directory.CreateTempSubdirectory("gateway-kubectl-home-").FullName;
    }

    /// <summary>kubectl from PATH's usual places; GATEWAY_TEST_KUBECTL points at another build (to check the fixture with other versions).</summary>
    public static string Executable =>
        new[] { Environment.GetEnvironmentVariable("GATEWAY_TEST_KUBECTL") ?? string.Empty, "/usr/bin/kubectl", "/usr/local/bin/kubectl" }
            .FirstOrDefault(p => p.Length > 0 && File.Exists(p))
        ?? throw new InvalidOperationException("kubectl is not installed; run tests/run.sh, which installs it (apt-get install -y kubernetes-client).");

    /// <summary>Runs kubectl to completion (killed by PID after <paramref name="timeout"/>).</summary>
    public async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            KillById(process.Id);
            throw new TimeoutException($"kubectl {string.Join(' ', args)} did not finish in {timeout.TotalSeconds} s; stderr: {await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a long-running kubectl (a watch) whose stdout is a stream of JSON documents.</summary>
    public WatchingKubectl StartWatch(params string[] args) => new(Start(args));

    public Process Start(string[] args)
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        info.Environment.Remove("KUBECONFIG");
        info.Environment["HOME"] = _home;
        info.ArgumentList.Add("--kubeconfig");
        info.ArgumentList.Add(_kubeConfig);
        info.ArgumentList.Add("--cache-dir");
        info.ArgumentList.Add(Path.Combine(_home, "cache"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("kubectl did not start");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    internal static void KillById(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
            process.WaitForExit(5000);
        }
        catch (ArgumentException)
        {
            // already gone
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>A kubectl whose stdout is read as a sequence of top-level JSON values; killed by PID on dispose.</summary>
    public sealed class WatchingKubectl : IDisposable
    {
        private readonly Process _process;
        private readonly IAsyncEnumerator<JsonElement> _documents;
        private readonly ConcurrentQueue<string> _stderr = new();

        internal WatchingKubectl(Process process)
        {
            _process = process;
            Pid = process.Id;
            _process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    _stderr.Enqueue(e.Data);
                }
            };
            _process.BeginErrorReadLine();
            _documents = JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(process.StandardOutput.BaseStream, topLevelValues: true).GetAsyncEnumerator();
        }

        public int Pid { get; }

        public string Stderr => string.Join('\n', _stderr);

        /// <summary>The next JSON document kubectl printed, or a TimeoutException after <paramref name="timeout"/>.</summary>
        public async Task<JsonElement> NextAsync(TimeSpan timeout)
        {
            var next = _documents.MoveNextAsync().AsTask();
            if (await Task.WhenAny(next, Task.Delay(timeout)) != next)
            {
                throw new TimeoutException($"kubectl (pid {Pid}) printed nothing for {timeout.TotalSeconds} s; stderr: {Stderr}");
            }

            if (!await next)
            {
                throw new InvalidOperationException($"kubectl (pid {Pid}) ended its output; exited: {_process.HasExited}; stderr: {Stderr}");
            }

            return _documents.Current;
        }

        public void Dispose()
        {
            KillById(Pid);
            _process.Dispose();
        }
    }
}
