// Runs wrk and reads its --latency report.
using System.Globalization;
using System.Text.RegularExpressions;

namespace Gateway.Benchmarks.Load;

internal sealed class WrkResult
{
    public double RequestsPerSecond { get; set; }
    public long Requests { get; set; }
    public double P50Ms { get; set; } = double.NaN;
    public double P99Ms { get; set; } = double.NaN;
    public long Errors { get; set; }
    public double CpuMicrosPerRequest { get; set; } = double.NaN;
    public long UpstreamConnections { get; set; }
    public long RequestsIncludingWarmup { get; set; }
}

internal static partial class Wrk
{
    public static async Task<WrkResult> RunAsync(string url, int threads, int connections, int seconds, List<string> headers, string? cpus)
    {
        var args = new List<string> { $"-t{threads}", $"-c{connections}", $"-d{seconds}s", "--latency" };
        foreach (var h in headers)
        {
            args.Add("-H");
            args.Add(h);
        }

        args.Add(url);
        using var wrk = Proc.Start("wrk", args, cpus);
        var output = await wrk.WaitForExitAsync(TimeSpan.FromSeconds(seconds + 60));
        return Parse(output);
    }

    public static WrkResult Parse(string output)
    {
        var r = new WrkResult();
        if (RpsRegex().Match(output) is { Success: true } rps)
        {
            r.RequestsPerSecond = double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        if (RequestsRegex().Match(output) is { Success: true } n)
        {
            r.Requests = long.Parse(n.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        foreach (Match m in PercentileRegex().Matches(output))
        {
            var ms = ToMs(m.Groups[2].Value, m.Groups[3].Value);
            if (m.Groups[1].Value == "50") { r.P50Ms = ms; }
            if (m.Groups[1].Value == "99") { r.P99Ms = ms; }
        }

        if (Non2xxRegex().Match(output) is { Success: true } bad)
        {
            r.Errors += long.Parse(bad.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        if (SocketErrorsRegex().Match(output) is { Success: true } se)
        {
            for (var i = 1; i <= 4; i++)
            {
                r.Errors += long.Parse(se.Groups[i].Value, CultureInfo.InvariantCulture);
            }
        }

        return r;
    }

    private static double ToMs(string value, string unit)
    {
        var v = double.Parse(value, CultureInfo.InvariantCulture);
        return unit switch { "us" => v / 1000, "ms" => v, "s" => v * 1000, "m" => v * 60_000, _ => v };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RpsRegex();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestsRegex();

    [GeneratedRegex(@"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", RegexOptions.Multiline)]
    private static partial Regex PercentileRegex();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xxRegex();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrorsRegex();
}
