// The soak: moderate load for about 20 minutes while the world changes under the gateway: a config reload every
// 30 s (every other one changes the cluster's pool settings, so a pool is built and one retired), a destination
// killed and restarted every minute, Redis (affinity key ring, rate-limit counters) restarted once. It counts every
// failed request and samples the gateway's RSS and open file descriptors. Not a test: it takes too long and shares
// the machine; the figures go to docs/benchmark-results.md.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Gateway.Benchmarks.Load;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Benchmarks.Soak;

internal static class SoakRun
{
    private const int Destinations = 3;

    public static async Task<int> RunAsync(string[] args)
    {
        var minutes = ReadOption(args, "--minutes", 20.0);
        var clients = (int)ReadOption(args, "--clients", 8);
        var perClientRps = ReadOption(args, "--rps-per-client", 40.0);
        var gatewayDll = ReadOption(args, "--gateway", "src/Gateway/bin/Release/net10.0/Gateway.dll");
        var outDir = ReadOption(args, "--out", "benchmark-results");
        var reloadEvery = TimeSpan.FromSeconds(ReadOption(args, "--reload-seconds", 30.0)); // 0: no reloads
        var killEvery = TimeSpan.FromSeconds(ReadOption(args, "--kill-seconds", 60.0));     // 0: no destination kills
        Directory.CreateDirectory(outDir);
        var work = Directory.CreateTempSubdirectory("gateway-soak-").FullName;
        var duration = TimeSpan.FromMinutes(minutes);

        var redisPort = Proc.FreePort();
        var redis = StartRedis(redisPort);
        var upstreamPorts = Enumerable.Range(0, Destinations).Select(_ => Proc.FreePort()).ToArray();
        var upstreams = new WebApplication?[Destinations];
        for (var i = 0; i < Destinations; i++)
        {
            upstreams[i] = await StartUpstreamAsync(upstreamPorts[i], i);
        }

        var proxyPort = Proc.FreePort();
        var mgmtPort = Proc.FreePort();
        var configPath = Path.Combine(work, "gateway.json");
        var reloads = 0;
        await File.WriteAllTextAsync(configPath, Config(redisPort, upstreamPorts, reloads));
        // The gateway runs as the image runs it: the Dockerfile's ENV, then the listeners, then --gateway-env overrides.
        var gatewayEnv = new Dictionary<string, string>(global::Gateway.TestSupport.Dockerfile.Load().FinalEnvironment())
        {
            ["Kestrel__Endpoints__Proxy__Url"] = $"http://127.0.0.1:{proxyPort}",
            ["Kestrel__Endpoints__Management__Url"] = $"http://127.0.0.1:{mgmtPort}",
        };
        foreach (var pair in ReadOption(args, "--gateway-env", "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            gatewayEnv[pair[..pair.IndexOf('=')]] = pair[(pair.IndexOf('=') + 1)..]; // e.g. MALLOC_ARENA_MAX=2
        }

        // The load harness's launcher: a .dll through dotnet (JIT), anything else as a native executable.
        var (gatewayFile, gatewayArgs) = Target.Launch(gatewayDll, ["--config", configPath]);
        using var gateway = Proc.Start(gatewayFile, gatewayArgs, env: gatewayEnv);
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await WaitForAsync(async () => (await probe.GetAsync($"http://127.0.0.1:{mgmtPort}/healthz/ready")).IsSuccessStatusCode, TimeSpan.FromSeconds(60));

        Console.WriteLine($"soak: gateway env {string.Join(' ', gatewayEnv.Where(e => !e.Key.StartsWith("Kestrel", StringComparison.Ordinal)).Select(e => $"{e.Key}={e.Value}"))}");
        Console.WriteLine($"soak: {minutes} min, {clients} clients x {perClientRps} req/s, gateway pid {gateway.Pid}, redis :{redisPort}, upstreams {string.Join(",", upstreamPorts)}");
        var stats = new Stats();
        using var stop = new CancellationTokenSource(duration);
        var load = Enumerable.Range(0, clients).Select(i => LoadAsync(proxyPort, i, perClientRps, stats, stop.Token)).ToArray();

        var samples = new List<Sample>();
        Dictionary<string, long>? mappingsAt2Min = null;
        var events = new List<string>();
        var watch = Stopwatch.StartNew();
        var nextReload = reloadEvery > TimeSpan.Zero ? reloadEvery : TimeSpan.MaxValue;
        var nextKill = killEvery > TimeSpan.Zero ? TimeSpan.FromSeconds(45) : TimeSpan.MaxValue;
        var redisRestartAt = TimeSpan.FromTicks(duration.Ticks / 2);
        var redisRestarted = false;
        var nextSample = TimeSpan.Zero;
        var victim = 0;
        while (!stop.IsCancellationRequested)
        {
            var now = watch.Elapsed;
            if (now >= nextSample)
            {
                samples.Add(await SampleAsync(probe, mgmtPort, gateway.Pid, now, stats));
                nextSample += TimeSpan.FromSeconds(10);
                if (mappingsAt2Min is null && now >= TimeSpan.FromMinutes(2))
                {
                    mappingsAt2Min = RssByMapping(gateway.Pid);
                }
            }

            if (now >= nextReload)
            {
                reloads++;
                await File.WriteAllTextAsync(configPath + ".tmp", Config(redisPort, upstreamPorts, reloads));
                File.Move(configPath + ".tmp", configPath, overwrite: true);
                events.Add($"{now.TotalSeconds:F0} s: reload #{reloads}{(reloads % 2 == 1 ? " (pool settings changed: new pool, old one retired)" : "")}");
                nextReload += reloadEvery;
            }

            if (now >= nextKill)
            {
                var i = victim++ % Destinations;
                if (upstreams[i] is { } running)
                {
                    await KillAsync(running);
                }

                events.Add($"{now.TotalSeconds:F0} s: destination d{i} killed");
                await Task.Delay(TimeSpan.FromSeconds(10));
                upstreams[i] = await RestartUpstreamAsync(upstreamPorts[i], i);
                events.Add($"{watch.Elapsed.TotalSeconds:F0} s: destination d{i} {(upstreams[i] is null ? "could not restart (its port was taken meanwhile)" : "restarted")}");
                nextKill += killEvery;
            }

            if (!redisRestarted && now >= redisRestartAt)
            {
                redisRestarted = true;
                redis.Dispose(); // SIGKILL
                events.Add($"{now.TotalSeconds:F0} s: redis killed");
                await Task.Delay(TimeSpan.FromSeconds(5));
                redis = StartRedis(redisPort);
                events.Add($"{watch.Elapsed.TotalSeconds:F0} s: redis restarted");
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await Task.WhenAll(load);
        samples.Add(await SampleAsync(probe, mgmtPort, gateway.Pid, watch.Elapsed, stats));
        var report = Report(minutes, clients, perClientRps, reloads, samples, events, stats)
            + MappingGrowth(mappingsAt2Min, RssByMapping(gateway.Pid));
        Console.WriteLine(report);
        var file = Path.Combine(outDir, $"soak-{DateTime.UtcNow:yyyyMMdd-HHmmss}.md");
        await File.WriteAllTextAsync(file, report);
        Console.WriteLine($"written to {file}");

        foreach (var upstream in upstreams)
        {
            if (upstream is not null)
            {
                await upstream.DisposeAsync();
            }
        }

        redis.Dispose();
        return stats.Failed == 0 ? 0 : 1;
    }

    private static string Config(int redisPort, int[] ports, int reload)
    {
        var destinations = string.Join(",\n", ports.Select((p, i) => $$"""        "d{{i}}": { "Address": "http://127.0.0.1:{{p}}/" }"""));
        // Odd reloads change a pool setting (a new pool; the old one is retired under load); even ones only a route's metadata.
        var maxConnections = reload % 2 == 1 ? 64 : 128;
        return $$"""
            {
              "Gateway": {
                "Redis": { "Configuration": "127.0.0.1:{{redisPort}}" },
                "RateLimiting": { "Policies": { "soak": { "Algorithm": "FixedWindow", "PermitLimit": 1000000000, "Window": "00:00:01", "PartitionBy": "Route", "FailureMode": "Local" } } }
              },
              "ReverseProxy": {
                "Routes": {
                  "soak": { "ClusterId": "soak", "RateLimiterPolicy": "soak", "Match": { "Path": "{**catch-all}" }, "Metadata": { "reload": "{{reload}}" } }
                },
                "Clusters": {
                  "soak": {
                    "SessionAffinity": { "Enabled": true, "AffinityKeyName": "soak-affinity" },
                    "Retry": { "Enabled": true },
                    "ConnectionPool": { "MaxConnectionsPerServer": {{maxConnections}} },
                    "Destinations": {
            {{destinations}}
                    }
                  }
                }
              }
            }
            """;
    }

    /// <summary>Paced GETs; half the clients keep their affinity cookie (sessions pinned to a destination).</summary>
    private static async Task LoadAsync(int port, int index, double rps, Stats stats, CancellationToken stop)
    {
        using var handler = new SocketsHttpHandler { UseCookies = index % 2 == 0, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        using var client = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        var interval = TimeSpan.FromSeconds(1 / rps);
        var pace = Stopwatch.StartNew();
        long n = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var response = await client.GetAsync($"/soak/{index}/{n}", CancellationToken.None);
                var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.OK && body.StartsWith("up", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref stats.Ok);
                }
                else
                {
                    stats.Fail($"{(int)response.StatusCode} {body[..Math.Min(body.Length, 120)]}");
                }
            }
            catch (Exception ex)
            {
                stats.Fail($"{ex.GetType().Name}: {ex.Message}");
            }

            n++;
            var due = interval * n - pace.Elapsed;
            if (due > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(due, stop);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }

    private static async Task<WebApplication> StartUpstreamAsync(int port, int index)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var body = Encoding.ASCII.GetBytes($"up d{index}\n");
        app.Run(context => context.Response.Body.WriteAsync(body, 0, body.Length));
        await app.StartAsync();
        return app;
    }

    /// <summary>Back on its port; another process on this shared box may have taken the port while it was down.</summary>
    private static async Task<WebApplication?> RestartUpstreamAsync(int port, int index)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            try
            {
                return await StartUpstreamAsync(port, index);
            }
            catch (IOException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500));
            }
        }

        return null;
    }

    /// <summary>Stops listening and drops its connections at once, like a killed pod.</summary>
    private static async Task KillAsync(WebApplication app)
    {
        using var now = new CancellationTokenSource();
        await now.CancelAsync();
        await app.StopAsync(now.Token);
        await app.DisposeAsync();
    }

    private static Proc StartRedis(int port) =>
        Proc.Start("redis-server", ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);

    /// <summary>RSS, FDs and threads from /proc; the managed heap after the last GC and the GC's committed memory from /metrics.</summary>
    private static async Task<Sample> SampleAsync(HttpClient probe, int mgmtPort, int pid, TimeSpan at, Stats stats)
    {
        double heap = double.NaN, committed = double.NaN;
        try
        {
            var metrics = await probe.GetStringAsync($"http://127.0.0.1:{mgmtPort}/metrics");
            heap = SumOf(metrics, "dotnet_gc_last_collection_heap_size_bytes{") / (1024 * 1024);
            committed = SumOf(metrics, "dotnet_gc_last_collection_memory_committed_size_bytes{") / (1024 * 1024);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
        }

        return new Sample(at, Status(pid, "VmRSS:") / 1024.0, OpenFds(pid), (int)Status(pid, "Threads:"), heap, committed, Interlocked.Read(ref stats.Ok), stats.Failed);
    }

    /// <summary>RSS (KB) by what is mapped (a file, [heap], the JIT's doublemapper, or anonymous), from /proc/PID/smaps.</summary>
    private static Dictionary<string, long> RssByMapping(int pid)
    {
        var rss = new Dictionary<string, long>();
        var current = "";
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 5 && parts[0].Contains('-', StringComparison.Ordinal) && !parts[0].EndsWith(':'))
            {
                current = parts.Length >= 6 ? string.Join(' ', parts[5..]) : "[anonymous]";
            }
            else if (parts.Length >= 2 && parts[0] == "Rss:")
            {
                rss[current] = rss.GetValueOrDefault(current) + long.Parse(parts[1], CultureInfo.InvariantCulture);
            }
        }

        return rss;
    }

    private static string MappingGrowth(Dictionary<string, long>? before, Dictionary<string, long> after)
    {
        if (before is null)
        {
            return "";
        }

        var text = new StringBuilder("\nRSS growth after 2 min by mapping (KB, largest first):\n\n| mapping | at 2 min | at the end | growth |\n| --- | ---: | ---: | ---: |\n");
        foreach (var (name, end) in after.OrderByDescending(kv => kv.Value - before.GetValueOrDefault(kv.Key)).Take(6))
        {
            var start = before.GetValueOrDefault(name);
            text.Append(CultureInfo.InvariantCulture, $"| {name} | {start} | {end} | {end - start:+0;-0} |\n");
        }

        return text.ToString();
    }

    private static double SumOf(string metrics, string prefix)
    {
        double sum = 0;
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    private static long Status(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }

    private static int OpenFds(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("the gateway did not become ready");
    }

    private static string Report(double minutes, int clients, double rps, int reloads, List<Sample> samples, List<string> events, Stats stats)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"# Soak, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"{minutes} min, {clients} clients x {rps} req/s (paced), {reloads} reloads, {events.Count(e => e.Contains("destination", StringComparison.Ordinal) && e.EndsWith("killed", StringComparison.Ordinal))} destination kills, {events.Count(e => e.EndsWith("redis killed", StringComparison.Ordinal))} Redis restart");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"- requests: {stats.Ok} ok, **{stats.Failed} failed**");
        var baseline = samples.FirstOrDefault(s => s.At >= TimeSpan.FromMinutes(2)) ?? samples[^1];
        var after = samples.Where(s => s.At >= baseline.At).ToList();
        var maxRss = after.Max(s => s.RssMb);
        var maxFds = after.Max(s => s.Fds);
        text.AppendLine(CultureInfo.InvariantCulture, $"- RSS at 2 min {baseline.RssMb:F1} MB, max after {maxRss:F1} MB ({Growth(baseline.RssMb, maxRss)}), at the end {samples[^1].RssMb:F1} MB");
        text.AppendLine(CultureInfo.InvariantCulture, $"- open FDs at 2 min {baseline.Fds}, max after {maxFds} ({Growth(baseline.Fds, maxFds)}), at the end {samples[^1].Fds}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- managed heap after the last GC at 2 min {baseline.HeapMb:F1} MB, max after {after.Max(s => s.HeapMb):F1} MB, at the end {samples[^1].HeapMb:F1} MB; GC committed at 2 min {baseline.CommittedMb:F1} MB, at the end {samples[^1].CommittedMb:F1} MB; threads at 2 min {baseline.Threads}, max after {after.Max(s => s.Threads)}");
        foreach (var failure in stats.FirstFailures())
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  - failure: {failure}");
        }

        text.AppendLine();
        text.AppendLine("| t (s) | RSS MB | FDs | threads | heap MB | GC committed MB | ok | failed |");
        text.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (var i = 0; i < samples.Count; i += 6)
        {
            var s = samples[i];
            text.AppendLine(CultureInfo.InvariantCulture, $"| {s.At.TotalSeconds:F0} | {s.RssMb:F1} | {s.Fds} | {s.Threads} | {s.HeapMb:F1} | {s.CommittedMb:F1} | {s.Ok} | {s.Failed} |");
        }

        text.AppendLine();
        text.AppendLine("Events:");
        foreach (var e in events)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {e}");
        }

        return text.ToString();
    }

    private static string Growth(double from, double to) => from > 0 ? $"{(to - from) / from * 100:+0.0;-0.0} %" : "n/a";

    private static T ReadOption<T>(string[] args, string name, T fallback)
    {
        var i = Array.LastIndexOf(args, name); // the last one wins, so run.sh's default --gateway can be overridden
        if (i < 0 || i + 1 >= args.Length)
        {
            return fallback;
        }

        return (T)Convert.ChangeType(args[i + 1], typeof(T), CultureInfo.InvariantCulture);
    }

    private sealed record Sample(TimeSpan At, double RssMb, int Fds, int Threads, double HeapMb, double CommittedMb, long Ok, long Failed);

    private sealed class Stats
    {
        private readonly List<string> _failures = [];
        public long Ok;
        private long _failed;

        public long Failed => Interlocked.Read(ref _failed);

        public void Fail(string what)
        {
            Interlocked.Increment(ref _failed);
            lock (_failures)
            {
                if (_failures.Count < 20)
                {
                    _failures.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {what}");
                }
            }
        }

        public List<string> FirstFailures()
        {
            lock (_failures)
            {
                return [.. _failures];
            }
        }
    }
}
