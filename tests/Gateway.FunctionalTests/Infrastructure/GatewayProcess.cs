using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Gateway.TestSupport;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// The gateway as a real child process (`dotnet Gateway.dll --config FILE`, or the native build: TestPaths.GatewayExecutable) on free loopback ports.
/// A child process rather than an in-process host: tests need real signals (SIGTERM), real exit codes for bad
/// config, and several independent replicas, exactly as Kubernetes runs it.
/// </summary>
public sealed partial class GatewayProcess : IAsyncDisposable
{
    public const int SIGTERM = 15;
    public const int SIGKILL = 9;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private GatewayProcess(Process process, string directory, string configPath, int proxyPort, int managementPort)
    {
        _process = process;
        Directory = directory;
        ConfigPath = configPath;
        ProxyPort = proxyPort;
        ManagementPort = managementPort;
    }

    public int ProxyPort { get; }

    public int ManagementPort { get; }

    public string ProxyUrl => $"http://127.0.0.1:{ProxyPort}";

    public string ManagementUrl => $"http://127.0.0.1:{ManagementPort}";

    public string Directory { get; }

    public string ConfigPath { get; }

    public int Pid => _process.Id;

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output => string.Join('\n', _output);

    public IReadOnlyCollection<string> OutputLines => _output.ToArray();

    /// <summary>Writes <paramref name="configJson"/> to a temp dir and starts the gateway on it.</summary>
    public static Task<GatewayProcess> StartAsync(string configJson, IDictionary<string, string>? environment = null, bool waitUntilReady = true) =>
        StartAsync(configJson, configFileName: null, environment, waitUntilReady);

    public static async Task<GatewayProcess> StartAsync(string configJson, string? configFileName, IDictionary<string, string>? environment, bool waitUntilReady = true)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("gateway-test-").FullName;
        var configPath = Path.Combine(directory, configFileName ?? "gateway.json");
        await File.WriteAllTextAsync(configPath, configJson);
        return await StartWithConfigFileAsync(directory, configPath, environment, waitUntilReady);
    }

    /// <summary>
    /// As <see cref="StartAsync(string, IDictionary{string, string}?, bool)"/>, but nobody ever reads the gateway's stdout:
    /// once the pipe's buffer is full every write to stdout blocks, as with a stuck log collector. <see cref="Output"/>
    /// then holds stderr only.
    /// </summary>
    public static async Task<GatewayProcess> StartWithUnreadStdoutAsync(string configJson, IDictionary<string, string>? environment = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("gateway-test-").FullName;
        var configPath = Path.Combine(directory, "gateway.json");
        await File.WriteAllTextAsync(configPath, configJson);
        return await StartWithConfigFileAsync(directory, configPath, environment, readStandardOutput: false);
    }

    /// <summary>Starts on an existing config path (e.g. a ConfigMap-style symlink).</summary>
    public static async Task<GatewayProcess> StartWithConfigFileAsync(
        string directory, string configPath, IDictionary<string, string>? environment, bool waitUntilReady = true, string? workingDirectory = null,
        bool readStandardOutput = true)
    {
        for (var attempt = 0; ; attempt++)
        {
            var gateway = Launch(directory, configPath, environment, workingDirectory, readStandardOutput);
            if (!waitUntilReady)
            {
                return gateway;
            }

            try
            {
                await gateway.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
                return gateway;
            }
            catch (InvalidOperationException) when (attempt < 3 && gateway.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // Another process took our "free" port between the probe and the bind; pick new ports.
                await gateway.DisposeAsync(deleteDirectory: false);
            }
        }
    }

    private static GatewayProcess Launch(string directory, string configPath, IDictionary<string, string>? environment, string? workingDirectory, bool readStandardOutput)
    {
        var build = TestPaths.GatewayExecutable ?? TestPaths.GatewayDll;
        if (!File.Exists(build))
        {
            throw new InvalidOperationException($"{build} not found; build the solution first (tests/run.sh does).");
        }

        var proxyPort = Ports.GetFree();
        var managementPort = Ports.GetFree();
        var info = TestPaths.GatewayStartInfo();
        info.WorkingDirectory = workingDirectory ?? TestPaths.GatewayDirectory;
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(configPath);
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["DOTNET_RUNNING_IN_CONTAINER"] = "false";
        info.Environment["Kestrel__Endpoints__Proxy__Url"] = $"http://127.0.0.1:{proxyPort}";
        info.Environment["Kestrel__Endpoints__Management__Url"] = $"http://127.0.0.1:{managementPort}";
        info.Environment["Logging__LogLevel__Default"] = "Information";
        info.Environment["Logging__LogLevel__Yarp"] = "Warning";
        info.Environment["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning";
        info.Environment.Remove("GATEWAY_CONFIG");
        // Not the machine's Kubernetes credentials: a test's discovered cluster talks only to the fake API server the
        // test names (Gateway__Discovery__Kubernetes__KubeConfig), never to a real cluster through the developer's
        // KUBECONFIG or, when the tests run in a pod, its service account. A test that means to use them sets them below.
        foreach (var name in new[] { "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT" })
        {
            info.Environment.Remove(name);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var gateway = new GatewayProcess(process, directory, configPath, proxyPort, managementPort);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) gateway._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) gateway._output.Enqueue(e.Data); };
        process.Exited += (_, _) =>
        {
            // Exited can fire before the last output lines are read; WaitForExit() flushes them.
            process.WaitForExit();
            gateway._exited.TrySetResult(process.ExitCode);
        };
        process.Start();
        if (readStandardOutput)
        {
            process.BeginOutputReadLine();
        }

        process.BeginErrorReadLine();
        return gateway;
    }

    public HttpClient CreateProxyClient(TimeSpan? timeout = null) =>
        new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = new Uri(ProxyUrl),
            Timeout = timeout ?? TimeSpan.FromSeconds(30),
        };

    public HttpClient CreateManagementClient(string? bearerToken = null)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(ManagementUrl), Timeout = TimeSpan.FromSeconds(30) };
        if (bearerToken is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearerToken);
        }

        return client;
    }

    public async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        using var client = CreateManagementClient();
        client.Timeout = TimeSpan.FromSeconds(2);
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (HasExited)
            {
                throw new InvalidOperationException($"Gateway exited with code {_exited.Task.Result} before becoming ready:\n{Output}");
            }

            try
            {
                using var response = await client.GetAsync("/healthz/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Gateway not ready after {timeout.TotalSeconds} s:\n{Output}");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        var finished = await Task.WhenAny(_exited.Task, Task.Delay(timeout));
        if (finished != _exited.Task)
        {
            throw new TimeoutException($"Gateway still running after {timeout.TotalSeconds} s:\n{Output}");
        }

        return await _exited.Task;
    }

    /// <summary>Atomically replaces the config file (write a temp file, then rename over it), as an editor or tool would.</summary>
    public async Task WriteConfigAsync(string configJson)
    {
        var temp = ConfigPath + ".tmp";
        await File.WriteAllTextAsync(temp, configJson);
        File.Move(temp, ConfigPath, overwrite: true);
    }

    /// <summary>Polls the admin-free log for a line containing <paramref name="text"/> at least <paramref name="count"/> times.</summary>
    public Task WaitForLogAsync(string text, TimeSpan timeout, int count = 1) =>
        Wait.UntilAsync(() => CountLog(text) >= count, timeout, $"log line containing '{text}' x{count}\n--- output so far ---\n{Output}");

    public int CountLog(string text) => _output.Count(line => line.Contains(text, StringComparison.Ordinal));

    public void Signal(int signal)
    {
        if (kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public ValueTask DisposeAsync() => DisposeAsync(deleteDirectory: true);

    private async ValueTask DisposeAsync(bool deleteDirectory)
    {
        if (!HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            await Task.WhenAny(_exited.Task, Task.Delay(TimeSpan.FromSeconds(10)));
        }

        _process.Dispose();
        if (deleteDirectory)
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
