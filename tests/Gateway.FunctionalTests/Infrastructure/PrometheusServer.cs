using System.Diagnostics;
using System.Text.Json;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// A real Prometheus server (Debian's <c>prometheus</c>; tests/run.sh installs it when missing) on a free loopback port,
/// with its own temp config and TSDB directory, scraping the given targets every second. Stopped by PID.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _client;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private PrometheusServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
        _client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public int Port { get; }

    public string Output => string.Join('\n', _output);

    public static string Executable(string name) =>
        new[] { $"/usr/bin/{name}", $"/usr/local/bin/{name}" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{name} is not installed; run tests/run.sh, which installs it (apt-get install -y prometheus).");

    /// <summary>Starts Prometheus scraping <paramref name="targets"/> (host:port) as job "gateway", with optional rule files.</summary>
    public static async Task<PrometheusServer> StartAsync(IEnumerable<string> targets, IEnumerable<string>? ruleFiles = null)
    {
        var directory = Directory.CreateTempSubdirectory("gateway-prometheus-").FullName;
        var rules = string.Join('\n', (ruleFiles ?? []).Select(f => $"  - '{f}'"));
        var config = $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            rule_files:
            {rules}
            scrape_configs:
              - job_name: gateway
                metrics_path: /metrics
                static_configs:
                  - targets: [{string.Join(", ", targets.Select(t => $"'{t}'"))}]
            """;
        if (ruleFiles is null || !ruleFiles.Any())
        {
            config = config.Replace("rule_files:\n", string.Empty, StringComparison.Ordinal);
        }

        var configPath = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(configPath, config);

        for (var attempt = 0; ; attempt++)
        {
            var port = Ports.GetFree();
            var info = new ProcessStartInfo(Executable("prometheus"))
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[]
            {
                $"--config.file={configPath}", $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                $"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h",
            })
            {
                info.ArgumentList.Add(arg);
            }

            var process = Process.Start(info) ?? throw new InvalidOperationException("prometheus did not start");
            var server = new PrometheusServer(process, directory, port);
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) server._output.Enqueue(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) server._output.Enqueue(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await Wait.UntilAsync(
                    async () => process.HasExited
                        ? throw new InvalidOperationException("prometheus exited:\n" + server.Output)
                        : (await server._client.GetAsync("/-/ready")).IsSuccessStatusCode,
                    TimeSpan.FromSeconds(60),
                    $"prometheus ready on port {port}",
                    pollMs: 100);
                return server;
            }
            catch (TimeoutException) when (attempt < 2 && server.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await server.StopAsync(deleteDirectory: false);
            }
        }
    }

    /// <summary>Runs an instant query through <c>/api/v1/query</c>; returns the result array (empty when no data).</summary>
    public async Task<JsonElement> QueryAsync(string expr)
    {
        using var response = await _client.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(expr));
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        if (json.RootElement.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"query failed: {expr}\n{body}");
        }

        return json.RootElement.GetProperty("data").GetProperty("result").Clone();
    }

    /// <summary>Health of the gateway scrape target(s) as Prometheus sees them ("up", "down", "unknown").</summary>
    public async Task<string[]> TargetHealthAsync()
    {
        using var json = JsonDocument.Parse(await _client.GetStringAsync("/api/v1/targets"));
        return json.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
            .Select(t => t.GetProperty("health").GetString() ?? "unknown").ToArray();
    }

    public ValueTask DisposeAsync() => StopAsync(deleteDirectory: true);

    private async ValueTask StopAsync(bool deleteDirectory)
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _client.Dispose();
        if (deleteDirectory)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
