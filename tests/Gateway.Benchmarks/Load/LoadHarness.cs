// One interleaved wrk run over every target, in two placements (unpinned; proxy on one core), medians of >= 3 rounds.
// Prints a markdown table per placement and writes it to benchmark-results/results-<date>.md.
using System.Globalization;
using System.Net.Http;
using System.Text;

namespace Gateway.Benchmarks.Load;

internal static class LoadHarness
{
    public static async Task<int> RunAsync(string[] args)
    {
        var o = HarnessOptions.Parse(args);
        var work = Directory.CreateTempSubdirectory("gateway-bench-").FullName;
        var report = new StringBuilder();
        var started = DateTime.Now;
        report.AppendLine(CultureInfo.InvariantCulture, $"# Gateway load benchmark ({started:yyyy-MM-dd HH:mm}, {Environment.ProcessorCount} cores, mode {(o.Knobs ? "knobs" : "targets")})");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"wrk -t{o.Threads} -c{o.Connections} -d{o.Duration}s, {o.Rounds} interleaved rounds, medians. Round 1 warms every target in {o.Warmup}s chunks until {o.SteadyChunks} consecutive chunks' req/s are within {o.SteadyPct}% (at most {o.MaxWarmup}s); later rounds warm {o.Warmup}s. 64-byte responses from nginx on loopback.");
        report.AppendLine("Shared, noisy machine: compare ratios measured side by side, not absolute figures across runs.");
        report.AppendLine();
        o.AppendBuildsAndNotes(report);

        foreach (var placement in o.Placements)
        {
            var targets = o.Knobs ? Target.Knobs(o) : Target.All(o);
            if (o.Only.Count > 0)
            {
                targets = targets.Where(t => t.Name == "direct" || o.Only.Contains(t.Name)).ToList();
            }

            Console.WriteLine($"== placement: {placement} ==");
            var table = await RunPlacementAsync(o, placement, targets, work);
            report.AppendLine(table);
            Console.WriteLine(table);
        }

        report.AppendLine(CultureInfo.InvariantCulture, $"Run took {(DateTime.Now - started).TotalMinutes:F1} min.");
        Directory.CreateDirectory(o.OutDir);
        var file = Path.Combine(o.OutDir, $"results-{started:yyyyMMdd-HHmmss}{(o.Knobs ? "-knobs" : "")}.md");
        await File.WriteAllTextAsync(file, report.ToString());
        Console.WriteLine($"written: {file}");
        return 0;
    }

    private static async Task<string> RunPlacementAsync(HarnessOptions o, string placement, List<Target> targets, string work)
    {
        var pinned = placement == "pinned";
        var sideCpu = pinned ? "0" : null;
        var proxyCpu = pinned ? "1" : null;
        var cores = pinned ? 1 : Environment.ProcessorCount;

        var upstreamPort = Proc.FreePort();
        var statusPort = Proc.FreePort();
        var upstreamConf = Path.Combine(work, $"upstream-{placement}.conf");
        await File.WriteAllTextAsync(upstreamConf, Servers.UpstreamNginx(work, upstreamPort, statusPort));
        using var upstream = Proc.Start("nginx", ["-p", work, "-e", Path.Combine(work, "upstream-error.log"), "-c", upstreamConf], sideCpu);
        var redisPort = Proc.FreePort();
        using var redis = Proc.Start("redis-server", ["--port", redisPort.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], sideCpu);
        var stub = new StubStatus(statusPort);
        await Http.WaitOkAsync($"http://127.0.0.1:{upstreamPort}/", upstream, TimeSpan.FromSeconds(20));

        // The h2c targets' upstream (gRPC-shaped answers over HTTP/2 without TLS), only when one of them runs.
        var h2cPort = targets.Exists(t => t.H2c) ? Proc.FreePort() : 0;
        using var h2cUpstream = h2cPort == 0 ? null : BenchUpstream(o, sideCpu, h2cPort: h2cPort);
        if (h2cUpstream is not null && await H2Load.WaitOkAsync($"http://127.0.0.1:{h2cPort}", h2cUpstream, TimeSpan.FromSeconds(30)) is { } h2cWhy)
        {
            Console.WriteLine("  h2c upstream: " + h2cWhy);
        }

        var ctx = new TargetContext(work, placement, upstreamPort, redisPort, proxyCpu, cores, o, h2cPort);
        var running = new List<RunningTarget>();
        try
        {
            foreach (var t in targets)
            {
                running.Add(await t.StartAsync(ctx));
                Console.WriteLine($"  {t.Name}: {running[^1].NotAvailable ?? "ready"}");
            }

            for (var round = 0; round < o.Rounds; round++)
            {
                // Each round starts one target later, so no target always runs first (load on a shared box drifts).
                for (var k = 0; k < running.Count; k++)
                {
                    var r = running[(k + round) % running.Count];
                    if (r.NotAvailable is not null || r.Failed is not null)
                    {
                        continue;
                    }

                    if (r.Proc is { HasExited: true })
                    {
                        r.Failed = "process exited: " + Tail(r.Proc.Output);
                        continue;
                    }

                    var accepts0 = await stub.AcceptsAsync();
                    var warmRequests = round == 0
                        ? await WarmUntilSteadyAsync(o, r, sideCpu)
                        : (await LoadAsync(o, r, o.Warmup, sideCpu)).Requests;
                    var cpu0 = r.Proc?.CpuMicros() ?? 0;
                    var m = await LoadAsync(o, r, o.Duration, sideCpu);
                    var cpu1 = r.Proc?.CpuMicros() ?? 0;
                    var accepts1 = await stub.AcceptsAsync();
                    m.CpuMicrosPerRequest = r.Proc is null || m.Requests == 0 ? double.NaN : (cpu1 - cpu0) / (double)m.Requests;
                    // The second stub_status request's own connection is counted too.
                    m.UpstreamConnections = accepts1 - accepts0 - 1;
                    m.RequestsIncludingWarmup = warmRequests + m.Requests;
                    r.Samples.Add(m);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  round {round + 1} {r.Target.Name,-24} {m.RequestsPerSecond,9:F0} req/s  p99 {m.P99Ms,7:F2} ms  cpu {m.CpuMicrosPerRequest,6:F1} us/req  upstream conns {m.UpstreamConnections}  errors {m.Errors}"));
                }
            }

            foreach (var r in running)
            {
                r.PeakRssMb = r.Proc?.PeakRssMb() ?? double.NaN;
                if (r.Finish is not null && r.Proc is { HasExited: false })
                {
                    r.Note = await r.Finish();
                }
            }

            return Report.Table(placement, pinned, running, o);
        }
        finally
        {
            foreach (var r in running)
            {
                r.Proc?.Dispose();
            }
        }
    }

    /// <summary>The harness's own upstream (<see cref="Apps.BenchUpstream"/>) on the side core, tuned as the gateway ships (so it is not the bottleneck sooner than needed).</summary>
    internal static Proc BenchUpstream(HarnessOptions o, string? cpus, int h2cPort = 0, int httpPort = 0) =>
        Proc.Start("dotnet", [o.BenchDll, "upstream", "--h2c-port", h2cPort.ToString(CultureInfo.InvariantCulture), "--http-port", httpPort.ToString(CultureInfo.InvariantCulture)], cpus,
            Target.ShippedEnvironment(new() { ["DOTNET_gcServer"] = "0", ["Logging__LogLevel__Default"] = "Warning" }));

    /// <summary>
    /// Round 1: load in chunks of --warmup seconds until the last --steady-chunks chunks' req/s lie within --steady-pct
    /// of each other, or --max-warmup seconds. A fixed warm-up measured .NET's tiered JIT instead of the proxy: the
    /// gateway pinned to one core needed ~55 s to reach steady state, nginx/HAProxy none. Returns the requests sent.
    /// </summary>
    private static async Task<long> WarmUntilSteadyAsync(HarnessOptions o, RunningTarget r, string? sideCpu)
    {
        var rates = new List<double>();
        long requests = 0;
        var seconds = 0;
        Console.Write($"  warming {r.Target.Name}:");
        do
        {
            var chunk = await LoadAsync(o, r, o.Warmup, sideCpu);
            rates.Add(chunk.RequestsPerSecond);
            requests += chunk.Requests;
            seconds += o.Warmup;
            Console.Write(string.Create(CultureInfo.InvariantCulture, $" {chunk.RequestsPerSecond:F0}"));
        }
        while (!IsSteady(rates, o.SteadyChunks, o.SteadyPct) && seconds + o.Warmup <= o.MaxWarmup);

        r.WarmupSeconds = seconds;
        r.ColdRps = rates[0];
        r.WarmupMaxHit = !IsSteady(rates, o.SteadyChunks, o.SteadyPct);
        Console.WriteLine(r.WarmupMaxHit ? $" req/s: NOT steady after {seconds} s (--max-warmup)" : $" req/s: steady after {seconds} s");
        return requests;
    }

    /// <summary>wrk, or the target's own load generator (h2load for the h2c targets).</summary>
    private static Task<WrkResult> LoadAsync(HarnessOptions o, RunningTarget r, int seconds, string? cpus) =>
        r.Load?.Invoke(seconds, cpus) ?? Wrk.RunAsync(r.Url, o.Threads, o.Connections, seconds, r.Headers, cpus);

    /// <summary>The last <paramref name="chunks"/> rates span at most <paramref name="pct"/> % of the highest of them.</summary>
    internal static bool IsSteady(List<double> rates, int chunks, double pct)
    {
        if (rates.Count < chunks)
        {
            return false;
        }

        double min = double.MaxValue, max = 0;
        for (var i = rates.Count - chunks; i < rates.Count; i++)
        {
            min = Math.Min(min, rates[i]);
            max = Math.Max(max, rates[i]);
        }

        return max - min <= max * pct / 100;
    }

    internal static string Tail(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines.Skip(Math.Max(0, lines.Length - 3))).Replace("|", "/", StringComparison.Ordinal);
    }

    /// <summary>The upstream nginx's stub_status: TCP connections it accepted and requests it answered (each read counts itself once).</summary>
    internal sealed class StubStatus(int port)
    {
        private static readonly HttpClient Client = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero });

        public async Task<long> AcceptsAsync() => (await CountersAsync()).Accepts;

        // "Active connections: 1 \nserver accepts handled requests\n 12 12 30 \n..."
        public async Task<(long Accepts, long Requests)> CountersAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/");
            request.Headers.ConnectionClose = true;
            using var response = await Client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var counters = text.Split('\n')[2].Trim().Split(' ');
            return (long.Parse(counters[0], CultureInfo.InvariantCulture), long.Parse(counters[2], CultureInfo.InvariantCulture));
        }
    }
}

internal static class Http
{
    // No cookie container: it would send an earlier gateway's affinity cookie (cookies ignore the port) to the next
    // one's probe, which then answers without Set-Cookie, and wrk would run cookie-less (a new session per request).
    private static readonly HttpClient Client = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.Zero,
        UseCookies = false,
        // The https targets serve the run's own certificate: trust exactly it.
        SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => BenchCertificate.IsOurs(certificate) },
    })
    {
        Timeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>A GET with extra request headers ("Name: value"), as wrk sends them.</summary>
    public static async Task<HttpResponseMessage?> TryGetAsync(string url, IEnumerable<string> headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        foreach (var header in headers)
        {
            var colon = header.IndexOf(':');
            request.Headers.TryAddWithoutValidation(header[..colon], header[(colon + 1)..].Trim());
        }

        try
        {
            return await Client.SendAsync(request);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    public static Task<HttpResponseMessage?> TryGetAsync(string url) => TryGetAsync(url, []);

    /// <summary>Polls until a 200, the process exits, or the deadline; returns null when OK, else why not.</summary>
    public static Task<string?> WaitOkAsync(string url, Proc? proc, TimeSpan timeout) => WaitOkAsync(url, proc, timeout, []);

    /// <summary>As above, with request headers ("Name: value"), e.g. a route that refuses requests without a token.</summary>
    public static async Task<string?> WaitOkAsync(string url, Proc? proc, TimeSpan timeout, IEnumerable<string> headers)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (proc is { HasExited: true })
            {
                await Task.Delay(200);
                return "exited at start: " + LoadHarness.Tail(proc.Output);
            }

            using var response = await TryGetAsync(url, headers);
            if (response is { IsSuccessStatusCode: true })
            {
                return null;
            }

            await Task.Delay(200);
        }

        return $"not ready after {timeout.TotalSeconds}s: " + LoadHarness.Tail(proc?.Output ?? "");
    }
}

/// <summary>A gateway build beside the JIT one: the target-name suffix, what it is, and the .dll or native executable.</summary>
internal sealed record GatewayBuild(string Suffix, string What, string Program);

internal sealed class HarnessOptions
{
    public int Rounds { get; set; } = 3;

    /// <summary>coldstart: seconds of load after readiness; idle: client connections; stream: body size in MB.</summary>
    public int Seconds { get; set; } = 30;
    public int IdleClients { get; set; } = 10_000;
    public int BodyMb { get; set; } = 100;
    public int Duration { get; set; } = 10;
    public int Warmup { get; set; } = 5;
    public double SteadyPct { get; set; } = 5;
    public int SteadyChunks { get; set; } = 3;
    public int MaxWarmup { get; set; } = 120;
    public int Connections { get; set; } = 64;
    public int Threads { get; set; } = 2;
    public bool Knobs { get; set; }
    public List<string> Placements { get; set; } = ["unpinned", "pinned"];
    public HashSet<string> Only { get; } = [];
    public string OutDir { get; set; } = "benchmark-results";
    public string GatewayDll { get; set; } = "src/Gateway/bin/Release/net10.0/Gateway.dll";
    public string BenchDll { get; set; } = typeof(HarnessOptions).Assembly.Location;

    /// <summary>Other builds of the gateway measured beside the JIT one (--gateway-r2r, --gateway-aot): each adds *-r2r / *-aot targets.</summary>
    public List<GatewayBuild> Builds { get; } = [];

    /// <summary>Lines for the results page (e.g. run.sh's note that a build's publish failed), repeatable --note.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>h2load's concurrent streams per connection; --connections / this many connections (64 x 1 by default: as wrk's load).</summary>
    public int H2Streams { get; set; } = 1;

    /// <summary>--knobs variants: label and env overrides; --knob "label:K=V;K2=V2" replaces the default list.</summary>
    public List<(string Label, Dictionary<string, string> Env)> KnobVariants { get; } = [];

    /// <summary>Each variant flips one setting away from what the project ships (runtimeconfig + the Dockerfile's ENV), so "shipped" vs it is the before/after.</summary>
    private static readonly string[] DefaultKnobs =
    [
        "shipped:",
        "gcServer=1:DOTNET_gcServer=1",
        "gcConcurrent=1:DOTNET_gcConcurrent=1",
        "UnfairSemaphoreSpinLimit=0:DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0",
        "InlineCompletions=0 (runtime default):DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0",
        "ActivityPropagation=0:DOTNET_SYSTEM_NET_HTTP_ENABLEACTIVITYPROPAGATION=0",
        // Hex without "0x": the native runtime ignores a prefixed value (so earlier gen0 runs measured nothing there).
        "GCgen0size=32MB (8x what the native build ships):DOTNET_GCgen0size=2000000",
        "TC_CallCountingDelayMs=100 (runtime default):DOTNET_TC_CallCountingDelayMs=100",
        "MALLOC_ARENA_MAX=16 (glibc's limit on 2 cores):MALLOC_ARENA_MAX=16",
        "metrics-off:Gateway__Telemetry__Metrics=false",
    ];

    public static HarnessOptions Parse(string[] args)
    {
        var o = new HarnessOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => args[++i];
            switch (args[i])
            {
                case "--rounds": o.Rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seconds": o.Seconds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--clients": o.IdleClients = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--mb": o.BodyMb = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--duration": o.Duration = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup": o.Warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--steady-pct": o.SteadyPct = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--steady-chunks": o.SteadyChunks = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--max-warmup": o.MaxWarmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--connections": o.Connections = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--threads": o.Threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--knobs": o.Knobs = true; break;
                case "--placements": o.Placements = Next().Split(',').ToList(); break;
                case "--only": foreach (var n in Next().Split(',')) { o.Only.Add(n); } break;
                case "--out": o.OutDir = Next(); break;
                case "--gateway": o.GatewayDll = Next(); break;
                case "--knob": o.KnobVariants.Add(ParseKnob(Next())); break;
                case "--gateway-r2r": o.Builds.Add(new("-r2r", "composite ReadyToRun, self-contained", Next())); break;
                case "--gateway-aot": o.Builds.Add(new("-aot", "Native AOT", Next())); break;
                case "--gateway-build":
                    // NAME=PATH: any other build (e.g. Native AOT with other publish properties), targets *-NAME.
                    var build = Next().Split('=', 2);
                    o.Builds.Add(new("-" + build[0], build[0], build[1]));
                    break;
                case "--note": o.Notes.Add(Next()); break;
                case "--h2-streams": o.H2Streams = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        if (o.Warmup < 1 || o.SteadyChunks < 2 || o.SteadyPct < 0)
        {
            throw new ArgumentException("--warmup must be >= 1, --steady-chunks >= 2, --steady-pct >= 0");
        }

        if (o.KnobVariants.Count == 0)
        {
            foreach (var k in DefaultKnobs)
            {
                o.KnobVariants.Add(ParseKnob(k));
            }
        }

        return o;
    }

    /// <summary>Which gateway builds ran (and run.sh's notes, e.g. a publish that failed), for the results page.</summary>
    public void AppendBuildsAndNotes(StringBuilder report)
    {
        report.AppendLine(CultureInfo.InvariantCulture, $"Gateway builds: JIT `{GatewayDll}`{string.Concat(Builds.Select(b => $", {b.What} `{b.Program}` (targets *{b.Suffix})"))}.");
        foreach (var note in Notes)
        {
            report.AppendLine("Note: " + note);
        }

        report.AppendLine();
    }

    private static (string, Dictionary<string, string>) ParseKnob(string spec)
    {
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var env = new Dictionary<string, string>();
        foreach (var pair in spec[(colon + 1)..].Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            env[pair[..eq]] = pair[(eq + 1)..];
        }

        return (spec[..colon], env);
    }
}
