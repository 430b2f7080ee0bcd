// Runs h2load (nghttp2) for the h2c / gRPC targets and reads its summary; a gRPC-shaped h2c probe for readiness.
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Text.RegularExpressions;

namespace Gateway.Benchmarks.Load;

internal static partial class H2Load
{
    /// <summary>The unary call every h2c target is sent (the upstream answers any POST path as a gRPC method).</summary>
    public const string GrpcPath = "/bench.Echo/Unary";

    /// <summary>
    /// <paramref name="connections"/> h2c connections (prior knowledge) with <paramref name="streams"/> concurrent streams
    /// each, POSTing the framed 64-byte message in <paramref name="bodyFile"/> with gRPC's request headers.
    /// </summary>
    public static async Task<WrkResult> RunAsync(string url, int threads, int connections, int streams, int seconds, string bodyFile, string? cpus)
    {
        List<string> args =
        [
            $"-t{Math.Min(threads, connections)}", $"-c{connections}", $"-m{streams}", "-D", seconds.ToString(CultureInfo.InvariantCulture),
            "-d", bodyFile, "-H", "content-type: application/grpc", "-H", "te: trailers", url,
        ];
        using var h2load = Proc.Start("h2load", args, cpus);
        var output = await h2load.WaitForExitAsync(TimeSpan.FromSeconds(seconds + 60));
        return Parse(output);
    }

    public static WrkResult Parse(string output)
    {
        var r = new WrkResult();
        if (FinishedRegex().Match(output) is { Success: true } f)
        {
            r.RequestsPerSecond = double.Parse(f.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        if (RequestsRegex().Match(output) is { Success: true } n)
        {
            r.Requests = long.Parse(n.Groups[1].Value, CultureInfo.InvariantCulture);
            r.Errors = long.Parse(n.Groups[2].Value, CultureInfo.InvariantCulture) + long.Parse(n.Groups[3].Value, CultureInfo.InvariantCulture)
                + long.Parse(n.Groups[4].Value, CultureInfo.InvariantCulture);
        }

        if (StatusRegex().Match(output) is { Success: true } s)
        {
            r.Errors += long.Parse(s.Groups[1].Value, CultureInfo.InvariantCulture) + long.Parse(s.Groups[2].Value, CultureInfo.InvariantCulture)
                + long.Parse(s.Groups[3].Value, CultureInfo.InvariantCulture);
        }

        // h2load reports no percentiles: the mean time per request stands in for p50 (p99 stays empty).
        if (MeanRegex().Match(output) is { Success: true } m)
        {
            var v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            r.P50Ms = m.Groups[2].Value switch { "us" => v / 1000, "ms" => v, "s" => v * 1000, _ => v };
        }

        if (r.Requests == 0 && r.RequestsPerSecond == 0)
        {
            r.Errors = Math.Max(r.Errors, 1);
        }

        return r;
    }

    /// <summary>Polls with a gRPC-shaped unary call over h2c until 200 with grpc-status 0 in the trailers; null when OK, else why not.</summary>
    public static async Task<string?> WaitOkAsync(string url, Proc? proc, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (proc is { HasExited: true })
            {
                await Task.Delay(200);
                return "exited at start: " + LoadHarness.Tail(proc.Output);
            }

            last = await ProbeAsync(url) ?? "";
            if (last.Length == 0)
            {
                return null;
            }

            await Task.Delay(200);
        }

        return $"not ready after {timeout.TotalSeconds}s ({last}): " + LoadHarness.Tail(proc?.Output ?? "");
    }

    private static readonly HttpClient Client = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, UseCookies = false })
    {
        Timeout = TimeSpan.FromSeconds(5),
    };

    private static async Task<string?> ProbeAsync(string url)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url.TrimEnd('/') + GrpcPath)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(Apps.BenchUpstream.GrpcResponse),
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        try
        {
            using var response = await Client.SendAsync(request);
            var body = await response.Content.ReadAsByteArrayAsync();
            var status = response.TrailingHeaders.TryGetValues("grpc-status", out var values) ? string.Join(",", values) : "none";
            return response.IsSuccessStatusCode && status == "0" && body.Length == Apps.BenchUpstream.GrpcResponse.Length
                ? null
                : Target.Invariant($"{(int)response.StatusCode}, HTTP/{response.Version}, grpc-status {status}, {body.Length} body bytes");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return ex.GetType().Name + ": " + ex.Message;
        }
    }

    [GeneratedRegex(@"finished in [\d.]+\w+, ([\d.]+) req/s")]
    private static partial Regex FinishedRegex();

    [GeneratedRegex(@"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout")]
    private static partial Regex RequestsRegex();

    [GeneratedRegex(@"status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx")]
    private static partial Regex StatusRegex();

    [GeneratedRegex(@"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)")]
    private static partial Regex MeanRegex();
}
