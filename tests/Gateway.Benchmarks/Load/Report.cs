// Medians per target, one markdown table per placement, then the issue 11 targets as pass/miss lines.
using System.Globalization;
using System.Text;

namespace Gateway.Benchmarks.Load;

internal static class Report
{
    public static string Table(string placement, bool pinned, List<RunningTarget> running, HarnessOptions o)
    {
        var sb = new StringBuilder();
        sb.AppendLine(pinned
            ? "## Placement: pinned (proxy `taskset -c 1`, wrk + upstream + redis `taskset -c 0`: the 1-CPU pod)"
            : "## Placement: unpinned (everything shares both cores)");
        sb.AppendLine();
        sb.AppendLine("| target | req/s (min-max) | vs direct | vs nginx | p50 ms | p99 ms | proxy CPU us/req | upstream conns opened | per 100k req | req/upstream conn | peak RSS MB | errors | warm-up s | cold req/s (first chunk) |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");

        foreach (var r in running)
        {
            // The h2c targets compare with their own limit and nginx (h2c-direct, nginx-grpc), TLS with nginx-https.
            var direct = Find(running, r.Target.H2c ? "h2c-direct" : "direct");
            var nginx = Find(running, r.Target.H2c ? "nginx-grpc" : r.Target.Name.EndsWith("-https", StringComparison.Ordinal) ? "nginx-https" : "nginx");
            if (r.NotAvailable is not null || r.Failed is not null || r.Samples.Count == 0)
            {
                sb.AppendLine(Inv($"| {r.Target.Name} | {r.NotAvailable ?? r.Failed ?? "no samples"} | | | | | | | | | | | | |"));
                continue;
            }

            var rps = Median(r, s => s.RequestsPerSecond);
            var conns = Median(r, s => s.UpstreamConnections);
            var per100k = Median(r, s => s.RequestsIncludingWarmup == 0 ? double.NaN : s.UpstreamConnections * 100_000.0 / s.RequestsIncludingWarmup);
            var perConn = Median(r, s => s.UpstreamConnections <= 0 ? double.PositiveInfinity : s.RequestsIncludingWarmup / (double)s.UpstreamConnections);
            // The upstream connection counter is the HTTP/1.1 upstream's: nothing to say for the h2c targets.
            var upstreamColumns = r.Target.H2c ? "- | - | -"
                : Inv($"{conns:F0} | {per100k:F1} | {(double.IsInfinity(perConn) ? "all reused" : perConn.ToString("F0", CultureInfo.InvariantCulture))}");
            sb.AppendLine(Inv($"| {r.Target.Name} | {rps:F0} ({r.Samples.Min(s => s.RequestsPerSecond):F0}-{r.Samples.Max(s => s.RequestsPerSecond):F0}) | {Ratio(rps, direct is null ? double.NaN : Median(direct, s => s.RequestsPerSecond))} | {Ratio(rps, nginx is null ? double.NaN : Median(nginx, s => s.RequestsPerSecond))} | {Ms(Median(r, s => s.P50Ms))} | {Ms(Median(r, s => s.P99Ms))} | {Num(Median(r, s => s.CpuMicrosPerRequest))} | {upstreamColumns} | {Num(r.PeakRssMb)} | {r.Samples.Sum(s => s.Errors)} | {r.WarmupSeconds}{(r.WarmupMaxHit ? "*" : "")} | {r.ColdRps:F0} |"));
        }

        sb.AppendLine();
        if (running.Exists(r => r.WarmupMaxHit))
        {
            sb.AppendLine(Inv($"\\* not steady within --max-warmup {o.MaxWarmup} s (last {o.SteadyChunks} chunks of {o.Warmup} s differed by more than {o.SteadyPct}%): its figures may still include warm-up."));
            sb.AppendLine();
        }

        foreach (var r in running)
        {
            sb.AppendLine(Inv($"- `{r.Target.Name}`: {r.Target.Description}{(r.Note is null ? "" : $" ({r.Note})")}"));
        }

        sb.AppendLine();
        if (!o.Knobs)
        {
            Targets(sb, running, o);
        }

        return sb.ToString();
    }

    private static void Targets(StringBuilder sb, List<RunningTarget> running, HarnessOptions o)
    {
        var nginx = Find(running, "nginx");
        var min = Find(running, "gateway-minimal");
        var full = Find(running, "gateway-full");
        var yarp = Find(running, "plain-yarp");
        var off = Find(running, "gateway-metrics-off");
        var limited = Find(running, "gateway-ratelimit");
        var naive = Find(running, "naive");
        var split = Find(running, "gateway-split");
        var accessLog = Find(running, "gateway-accesslog");
        var compression = Find(running, "gateway-compression");
        var edge = Find(running, "gateway-edge");
        var edgeAll = Find(running, "gateway-edge-compress-all");
        var nginxGzip = Find(running, "nginx-gzip");
        sb.AppendLine("Targets (issue 11):");
        Check(sb, "gateway-minimal req/s >= nginx", min, nginx, (a, b) => Rps(a) / Rps(b), r => r >= 1.0, "x nginx");
        Check(sb, "gateway-minimal CPU/request <= 1.5x nginx", min, nginx, (a, b) => Cpu(a) / Cpu(b), r => r <= 1.5, "x nginx");
        Check(sb, "gateway-full req/s >= 0.9x gateway-minimal", full, min, (a, b) => Rps(a) / Rps(b), r => r >= 0.9, "x minimal");
        Check(sb, "gateway-split req/s >= 0.9x gateway-minimal (issue 22)", split, min, (a, b) => Rps(a) / Rps(b), r => r >= 0.9, "x minimal");
        Check(sb, "gateway-split CPU/request vs gateway-minimal (issue 22)", split, min, (a, b) => Cpu(a) / Cpu(b), _ => true, "x minimal");
        Check(sb, "gateway-minimal req/s >= plain-yarp", min, yarp, (a, b) => Rps(a) / Rps(b), r => r >= 1.0, "x plain YARP");
        Check(sb, "gateway-minimal p99 <= 1.2x nginx p99", min, nginx, (a, b) => Median(a, s => s.P99Ms) / Median(b, s => s.P99Ms), r => r <= 1.2, "x nginx p99");
        Check(sb, Inv($"gateway-minimal upstream conns per 100k requests <= {o.Connections}"), min, min,
            (a, _) => Median(a, s => s.UpstreamConnections * 100_000.0 / Math.Max(1, s.RequestsIncludingWarmup)), r => r <= o.Connections, "");
        Check(sb, "gateway-minimal peak RSS <= 150 MB", min, min, (a, _) => a.PeakRssMb, r => r <= 150, "MB");
        Check(sb, "gateway-full peak RSS <= 150 MB", full, full, (a, _) => a.PeakRssMb, r => r <= 150, "MB");
        Check(sb, "metrics on/off: gateway-minimal req/s vs gateway-metrics-off (issue 6)", min, off, (a, b) => Rps(a) / Rps(b), _ => true, "x metrics-off");
        Check(sb, "Redis rate limit (issue 8): p50 latency vs gateway-minimal", limited, min, (a, b) => Median(a, s => s.P50Ms) / Median(b, s => s.P50Ms), _ => true, "x minimal p50");
        Check(sb, "Redis rate limit (issue 8): p99 latency vs gateway-minimal", limited, min, (a, b) => Median(a, s => s.P99Ms) / Median(b, s => s.P99Ms), _ => true, "x minimal p99");
        Check(sb, "Redis rate limit (issue 8): req/s vs gateway-minimal", limited, min, (a, b) => Rps(a) / Rps(b), _ => true, "x minimal");
        Check(sb, "pooling (issue 3): gateway-minimal req/s vs naive client-per-request", min, naive, (a, b) => Rps(a) / Rps(b), _ => true, "x naive");
        Check(sb, "access log (issue 23): CPU/request at 100% sampling <= 1.05x gateway-minimal", accessLog, min, (a, b) => Cpu(a) / Cpu(b), r => r <= 1.05, "x minimal");
        Check(sb, "access log (issue 23): req/s vs gateway-minimal", accessLog, min, (a, b) => Rps(a) / Rps(b), _ => true, "x minimal");
        Check(sb, "edge policies (issue 18): gateway-edge (JWT + CORS + compression at its defaults) req/s >= 0.85x gateway-minimal", edge, min, (a, b) => Rps(a) / Rps(b), r => r >= 0.85, "x minimal");
        Check(sb, "edge policies (issue 18): gateway-edge CPU/request vs gateway-minimal", edge, min, (a, b) => Cpu(a) / Cpu(b), _ => true, "x minimal");
        Check(sb, "edge policies (issue 18): gateway-edge-compress-all (every 64-byte body compressed) req/s vs gateway-minimal", edgeAll, min, (a, b) => Rps(a) / Rps(b), _ => true, "x minimal");
        Check(sb, "edge policies (issue 18): gateway-edge-compress-all CPU/request vs gateway-minimal", edgeAll, min, (a, b) => Cpu(a) / Cpu(b), _ => true, "x minimal");
        Check(sb, "compression's cost on nginx: nginx-gzip (every 64-byte body gzipped) req/s vs nginx", nginxGzip, nginx, (a, b) => Rps(a) / Rps(b), _ => true, "x nginx");
        Check(sb, "compression's cost on nginx: nginx-gzip CPU/request vs nginx", nginxGzip, nginx, (a, b) => Cpu(a) / Cpu(b), _ => true, "x nginx");
        Check(sb, "compression (issue 18): gateway-compression req/s vs gateway-minimal", compression, min, (a, b) => Rps(a) / Rps(b), _ => true, "x minimal");
        Check(sb, "compression (issue 18): gateway-compression CPU/request vs gateway-minimal", compression, min, (a, b) => Cpu(a) / Cpu(b), _ => true, "x minimal");
        sb.AppendLine();
        Issue19(sb, running);
    }

    /// <summary>Issue 19's targets for the targets measured: every build of the minimal gateway, TLS and h2c against nginx's.</summary>
    private static void Issue19(StringBuilder sb, List<RunningTarget> running)
    {
        var nginx = Find(running, "nginx");
        var yarp = Find(running, "plain-yarp");
        var min = Find(running, "gateway-minimal");
        sb.AppendLine("Targets (issue 19):");
        foreach (var r in running)
        {
            if (!r.Target.Name.StartsWith("gateway-minimal", StringComparison.Ordinal))
            {
                continue;
            }

            var name = r.Target.Name;
            Check(sb, $"{name} peak RSS <= 60 MB", r, r, (a, _) => a.PeakRssMb, v => v <= 60, "MB");
            Check(sb, $"{name} CPU/request <= 2.0x nginx", r, nginx, (a, b) => Cpu(a) / Cpu(b), v => v <= 2.0, "x nginx");
            Check(sb, $"{name} CPU/request <= 0.8x plain-yarp", r, yarp, (a, b) => Cpu(a) / Cpu(b), v => v <= 0.8, "x plain YARP");
            if (r != min)
            {
                Check(sb, $"{name} req/s vs gateway-minimal (JIT)", r, min, (a, b) => Rps(a) / Rps(b), _ => true, "x JIT");
                Check(sb, $"{name} CPU/request vs gateway-minimal (JIT)", r, min, (a, b) => Cpu(a) / Cpu(b), _ => true, "x JIT");
            }
        }

        Check(sb, "TLS: gateway-https CPU/request <= 2.0x nginx-https", Find(running, "gateway-https"), Find(running, "nginx-https"), (a, b) => Cpu(a) / Cpu(b), v => v <= 2.0, "x nginx-https");
        foreach (var r in running)
        {
            if (r.Target.Name.StartsWith("gateway-grpc", StringComparison.Ordinal))
            {
                Check(sb, $"h2c: {r.Target.Name} CPU/request <= 2.0x nginx-grpc", r, Find(running, "nginx-grpc"), (a, b) => Cpu(a) / Cpu(b), v => v <= 2.0, "x nginx-grpc");
                Check(sb, $"h2c: {r.Target.Name} req/s vs nginx-grpc", r, Find(running, "nginx-grpc"), (a, b) => Rps(a) / Rps(b), _ => true, "x nginx-grpc");
            }
        }

        sb.AppendLine();
    }

    private static void Check(StringBuilder sb, string what, RunningTarget? a, RunningTarget? b, Func<RunningTarget, RunningTarget, double> value, Func<double, bool> ok, string unit)
    {
        if (!Usable(a) || !Usable(b))
        {
            sb.AppendLine(Inv($"- n/a: {what} (target not measured)"));
            return;
        }

        var v = value(a!, b!);
        sb.AppendLine(Inv($"- {(ok(v) ? "met" : "MISSED")}: {what}: {v:F2} {unit}"));
    }

    private static bool Usable(RunningTarget? r) => r is not null && r.NotAvailable is null && r.Failed is null && r.Samples.Count > 0;

    private static double Rps(RunningTarget r) => Median(r, s => s.RequestsPerSecond);

    private static double Cpu(RunningTarget r) => Median(r, s => s.CpuMicrosPerRequest);

    private static RunningTarget? Find(List<RunningTarget> running, string name) => running.Find(r => r.Target.Name == name);

    internal static double Median(RunningTarget r, Func<WrkResult, double> f)
    {
        var values = r.Samples.Select(f).Where(v => !double.IsNaN(v)).OrderBy(v => v).ToArray();
        if (values.Length == 0)
        {
            return double.NaN;
        }

        return values.Length % 2 == 1 ? values[values.Length / 2] : (values[values.Length / 2 - 1] + values[values.Length / 2]) / 2;
    }

    private static string Ratio(double a, double b) => double.IsNaN(a) || double.IsNaN(b) || b == 0 ? "-" : Inv($"{a / b:F2}");

    private static string Ms(double v) => double.IsNaN(v) ? "-" : Inv($"{v:F2}");

    private static string Num(double v) => double.IsNaN(v) ? "-" : Inv($"{v:F1}");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
