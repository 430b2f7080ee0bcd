// Cold start: each proxy started fresh, loaded the moment it is ready, req/s for every second of the first --seconds.
// Per second from the upstream's own request counter (nginx stub_status, read once a second), so one wrk run keeps its
// connections the whole time and adds no per-request Lua work; wrk's own total is the cross-check.
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Gateway.Benchmarks.Load;

internal static class ColdStart
{
    private sealed class Sample
    {
        public double ReadyMs { get; init; }
        public double[] PerSecond { get; init; } = [];
        public double WrkRps { get; init; }
        public long Errors { get; init; }
        public double PeakRssMb { get; init; }
        public double First5 => Mean(PerSecond, 0, Math.Min(5, PerSecond.Length));
        public double Steady => Mean(PerSecond, SteadyFrom(PerSecond.Length), PerSecond.Length);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var o = HarnessOptions.Parse(args);
        var work = Directory.CreateTempSubdirectory("gateway-coldstart-").FullName;
        var started = DateTime.Now;
        var report = new StringBuilder();
        report.AppendLine(Inv($"# Gateway cold start ({started:yyyy-MM-dd HH:mm}, {Environment.ProcessorCount} cores)"));
        report.AppendLine();
        report.AppendLine(Inv($"Each proxy started fresh per round ({o.Rounds} rounds, interleaved, medians), loaded with wrk -t{o.Threads} -c{o.Connections} -d{o.Seconds}s the moment it is ready (the gateway: GET /healthz/ready on its management listener answers 200; the others: the first proxied 200). Per-second req/s from the upstream nginx's request counter; steady = seconds {SteadyFrom(o.Seconds)}-{o.Seconds}. The gateway runs with the Dockerfile's ENV."));
        report.AppendLine();
        o.AppendBuildsAndNotes(report);

        foreach (var placement in o.Placements)
        {
            var pinned = placement == "pinned";
            var sideCpu = pinned ? "0" : null;
            // Pinned, the harness itself (its 10 ms readiness polls, the per-second counter reads) stays off the proxy's
            // core: every thread of it (taskset -a; new threads inherit), and unpinned children inherit all cores again.
            await PinSelfAsync(pinned ? "0" : Inv($"0-{Environment.ProcessorCount - 1}"));
            var upstreamPort = Proc.FreePort();
            var statusPort = Proc.FreePort();
            var upstreamConf = Path.Combine(work, $"upstream-{placement}.conf");
            await File.WriteAllTextAsync(upstreamConf, Servers.UpstreamNginx(work, upstreamPort, statusPort));
            using var upstream = Proc.Start("nginx", ["-p", work, "-e", Path.Combine(work, "upstream-error.log"), "-c", upstreamConf], sideCpu);
            await Http.WaitOkAsync($"http://127.0.0.1:{upstreamPort}/", upstream, TimeSpan.FromSeconds(20));
            var stub = new LoadHarness.StubStatus(statusPort);
            var contenders = Contenders.For(o, work, $"cold-{placement}", Servers.GatewayMinimal(upstreamPort),
                port => Servers.ProxyNginx(work, port, upstreamPort, pinned ? 1 : Environment.ProcessorCount).Replace("proxy.pid", $"cold-{port}.pid", StringComparison.Ordinal), yarp: true);
            var samples = contenders.ToDictionary(c => c.Name, _ => new List<Sample>());
            var failures = new Dictionary<string, string>();
            Console.WriteLine($"== cold start, placement: {placement} ==");
            for (var round = 0; round < o.Rounds; round++)
            {
                for (var k = 0; k < contenders.Count; k++)
                {
                    var c = contenders[(k + round) % contenders.Count];
                    try
                    {
                        var s = await MeasureAsync(o, c, stub, pinned ? "1" : null, sideCpu);
                        samples[c.Name].Add(s);
                        Console.WriteLine(Inv($"  round {round + 1} {c.Name,-22} ready {s.ReadyMs,7:F0} ms  first 5 s {s.First5,7:F0}  steady {s.Steady,7:F0} req/s  ({s.First5 / s.Steady:F2}x)  peak RSS {s.PeakRssMb:F1} MB  per s: {string.Join(' ', s.PerSecond.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))}"));
                    }
                    catch (Exception ex) when (ex is InvalidOperationException or FileNotFoundException)
                    {
                        failures[c.Name] = ex.Message;
                        Console.WriteLine($"  round {round + 1} {c.Name}: {ex.Message}");
                    }
                }
            }

            var table = Table(placement, pinned, contenders, samples, failures, o);
            Console.WriteLine(table);
            report.AppendLine(table);
        }

        report.AppendLine(Inv($"Run took {(DateTime.Now - started).TotalMinutes:F1} min."));
        return await Write(o, report, started, "coldstart");
    }

    private static async Task<Sample> MeasureAsync(HarnessOptions o, Contender c, LoadHarness.StubStatus stub, string? proxyCpu, string? sideCpu)
    {
        var clock = Stopwatch.StartNew();
        var s = c.Start(c.Name, proxyCpu);
        using var proc = s.Proc;
        var readyUrl = s.ManagementUrl is null ? s.Url : s.ManagementUrl + "/healthz/ready";
        if (!await Contenders.PollOkAsync(readyUrl, proc, TimeSpan.FromSeconds(60)))
        {
            throw new InvalidOperationException("not ready within 60 s: " + LoadHarness.Tail(proc.Output));
        }

        var readyMs = clock.Elapsed.TotalMilliseconds;
        var wrk = Wrk.RunAsync(s.Url, o.Threads, o.Connections, o.Seconds, [], sideCpu);
        var perSecond = await PerSecondAsync(stub, o.Seconds, wrk);
        var m = await wrk;
        return new Sample { ReadyMs = readyMs, PerSecond = perSecond, WrkRps = m.RequestsPerSecond, Errors = m.Errors, PeakRssMb = proc.PeakRssMb() };
    }

    /// <summary>Requests the upstream answered in each second of the run (its own counter read excluded), by the real elapsed time between reads.</summary>
    private static async Task<double[]> PerSecondAsync(LoadHarness.StubStatus stub, int seconds, Task wrk)
    {
        var rates = new double[seconds];
        var clock = Stopwatch.StartNew();
        var (_, last) = await stub.CountersAsync();
        var lastAt = clock.Elapsed;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        for (var i = 0; i < seconds && !wrk.IsCompleted; i++)
        {
            await timer.WaitForNextTickAsync();
            var (_, requests) = await stub.CountersAsync();
            var at = clock.Elapsed;
            rates[i] = (requests - last - 1) / (at - lastAt).TotalSeconds;
            (last, lastAt) = (requests, at);
        }

        return rates;
    }

    private static string Table(string placement, bool pinned, List<Contender> contenders, Dictionary<string, List<Sample>> samples, Dictionary<string, string> failures, HarnessOptions o)
    {
        var sb = new StringBuilder();
        sb.AppendLine(pinned
            ? "## Cold start, pinned (proxy `taskset -c 1`, wrk + upstream + harness on core 0: the 1-CPU pod)"
            : "## Cold start, unpinned (everything shares both cores)");
        sb.AppendLine();
        sb.AppendLine(Inv($"| target | start -> ready ms | req/s first 5 s | req/s steady (s {SteadyFrom(o.Seconds)}-{o.Seconds}) | first 5 s / steady | peak RSS MB | wrk req/s (whole run) | errors |"));
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var c in contenders)
        {
            var list = samples[c.Name];
            if (list.Count == 0)
            {
                sb.AppendLine($"| {c.Name} | n/a: {failures.GetValueOrDefault(c.Name, "no samples")} | | | | | | |");
                continue;
            }

            sb.AppendLine(Inv($"| {c.Name} | {Median(list, s => s.ReadyMs):F0} | {Median(list, s => s.First5):F0} | {Median(list, s => s.Steady):F0} | {Median(list, s => s.First5 / s.Steady):F2} | {Median(list, s => s.PeakRssMb):F1} | {Median(list, s => s.WrkRps):F0} | {list.Sum(s => s.Errors)} |"));
        }

        sb.AppendLine();
        sb.AppendLine("req/s in each second after readiness (median per second over rounds):");
        sb.AppendLine();
        foreach (var c in contenders)
        {
            var list = samples[c.Name];
            if (list.Count > 0)
            {
                var perSecond = Enumerable.Range(0, o.Seconds).Select(i => Median(list, s => s.PerSecond[i]).ToString("F0", CultureInfo.InvariantCulture));
                sb.AppendLine($"- `{c.Name}`: {string.Join(' ', perSecond)}");
            }
        }

        sb.AppendLine();
        foreach (var c in contenders)
        {
            sb.AppendLine($"- `{c.Name}`: {c.Description}");
        }

        sb.AppendLine();
        sb.AppendLine("Targets (issue 19):");
        foreach (var c in contenders)
        {
            if (c.Name.StartsWith("gateway", StringComparison.Ordinal) && samples[c.Name].Count > 0)
            {
                var ratio = Median(samples[c.Name], s => s.First5 / s.Steady);
                var verdict = !pinned ? "info" : ratio >= 0.8 ? "met" : "MISSED";
                sb.AppendLine(Inv($"- {verdict}: {c.Name} {placement}: req/s in the first 5 s after readiness >= 0.8x steady: {ratio:F2}x"));
            }
        }

        sb.AppendLine();
        return sb.ToString();
    }

    internal static async Task PinSelfAsync(string cpus)
    {
        using var taskset = Proc.Start("taskset", ["-a", "-p", "-c", cpus, Environment.ProcessId.ToString(CultureInfo.InvariantCulture)]);
        await taskset.WaitForExitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Steady window: the last third of the run (seconds 20-30 of 30).</summary>
    private static int SteadyFrom(int seconds) => seconds * 2 / 3;

    private static double Mean(double[] values, int from, int to)
    {
        double sum = 0;
        for (var i = from; i < to; i++)
        {
            sum += values[i];
        }

        return to > from ? sum / (to - from) : double.NaN;
    }

    internal static double Median<T>(List<T> items, Func<T, double> f)
    {
        var values = items.Select(f).Where(v => !double.IsNaN(v)).OrderBy(v => v).ToArray();
        return values.Length == 0 ? double.NaN
            : values.Length % 2 == 1 ? values[values.Length / 2] : (values[values.Length / 2 - 1] + values[values.Length / 2]) / 2;
    }

    /// <summary>The report to the console's file: benchmark-results/results-&lt;date&gt;-&lt;mode&gt;.md.</summary>
    internal static async Task<int> Write(HarnessOptions o, StringBuilder report, DateTime started, string mode)
    {
        Directory.CreateDirectory(o.OutDir);
        var file = Path.Combine(o.OutDir, $"results-{started:yyyyMMdd-HHmmss}-{mode}.md");
        await File.WriteAllTextAsync(file, report.ToString());
        Console.WriteLine($"written: {file}");
        return 0;
    }

    internal static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
