// A large body streamed through each proxy: a --mb MB upload (POST, Content-Length known, sent from a file as it is
// read) and a --mb MB download (GET), with curl on the side core; MB/s and the proxy's CPU seconds per transfer.
// The upstream (Apps/BenchUpstream) reads the whole upload and answers its length, which the harness checks.
using System.Globalization;
using System.Text;

namespace Gateway.Benchmarks.Load;

internal static class StreamedBody
{
    private sealed record Sample(double UploadMbps, double UploadCpuS, double DownloadMbps, double DownloadCpuS);

    public static async Task<int> RunAsync(string[] args)
    {
        var o = HarnessOptions.Parse(args);
        var work = Directory.CreateTempSubdirectory("gateway-stream-").FullName;
        var started = DateTime.Now;
        var bytes = o.BodyMb * 1024L * 1024;
        var report = new StringBuilder();
        report.AppendLine(ColdStart.Inv($"# Gateway streamed body ({started:yyyy-MM-dd HH:mm}, {Environment.ProcessorCount} cores)"));
        report.AppendLine();
        report.AppendLine(ColdStart.Inv($"One {o.BodyMb} MB upload (curl POST -T file, Content-Length, no Expect) and one {o.BodyMb} MB download (GET) per round through each proxy to a Kestrel upstream on loopback; {o.Rounds} rounds after one unmeasured transfer each way, medians. MB = 2^20 bytes. Proxy CPU = utime+stime of its process tree over the transfer. nginx streams both ways (proxy_request_buffering off, proxy_buffering off); the gateway's route has MaxRequestBodySize -1. Peak RSS far below the body size shows it was streamed, not buffered. The gateway runs with the Dockerfile's ENV."));
        report.AppendLine();
        o.AppendBuildsAndNotes(report);
        var file = Path.Combine(work, "body.bin");
        await using (var f = File.Create(file))
        {
            var chunk = new byte[1024 * 1024];
            for (var i = 0; i < o.BodyMb; i++)
            {
                Random.Shared.NextBytes(chunk);
                await f.WriteAsync(chunk);
            }
        }

        foreach (var placement in o.Placements)
        {
            var pinned = placement == "pinned";
            var sideCpu = pinned ? "0" : null;
            var upstreamPort = Proc.FreePort();
            using var upstream = LoadHarness.BenchUpstream(o, sideCpu, httpPort: upstreamPort);
            var upstreamUrl = $"http://127.0.0.1:{upstreamPort}/";
            await Http.WaitOkAsync(upstreamUrl + "download?bytes=1", upstream, TimeSpan.FromSeconds(30));
            var gatewayConfig = Servers.GatewayMinimal(upstreamPort).Replace("\"ClusterId\": \"bench\",", "\"ClusterId\": \"bench\", \"MaxRequestBodySize\": -1,", StringComparison.Ordinal);
            var contenders = new List<Contender> { new("direct", "curl straight to the upstream (the limit)", (_, _) => new Started(upstream, upstreamUrl, null)) };
            contenders.AddRange(Contenders.For(o, work, $"stream-{placement}", gatewayConfig,
                port => Servers.ProxyNginx(work, port, upstreamPort, pinned ? 1 : Environment.ProcessorCount)
                    .Replace("proxy.pid", $"stream-{port}.pid", StringComparison.Ordinal)
                    .Replace("proxy_http_version 1.1;", "proxy_http_version 1.1; client_max_body_size 0; proxy_request_buffering off; proxy_buffering off;", StringComparison.Ordinal),
                yarp: false));
            if (o.Only.Count > 0)
            {
                contenders.RemoveAll(c => c.Name != "direct" && !o.Only.Contains(c.Name));
            }

            Console.WriteLine($"== streamed body, placement: {placement} ==");
            var running = new List<(Contender Contender, Started? Started, string? Failed, List<Sample> Samples)>();
            try
            {
                foreach (var c in contenders)
                {
                    try
                    {
                        var s = c.Start(c.Name, pinned ? "1" : null);
                        var ready = c.Name == "direct" || await Contenders.PollOkAsync(s.Url + "download?bytes=1", s.Proc, TimeSpan.FromSeconds(60), intervalMs: 100);
                        running.Add((c, s, ready ? null : "not ready within 60 s: " + LoadHarness.Tail(s.Proc.Output), []));
                    }
                    catch (FileNotFoundException ex)
                    {
                        running.Add((c, null, ex.Message, []));
                    }
                }

                for (var round = -1; round < o.Rounds; round++)
                {
                    for (var k = 0; k < running.Count; k++)
                    {
                        var at = (k + Math.Max(0, round)) % running.Count;
                        var (c, s, failed, samples) = running[at];
                        if (s is null || failed is not null)
                        {
                            continue;
                        }

                        // The proxy's own CPU; direct has none to count (the upstream's is not the proxy's).
                        var proxy = c.Name == "direct" ? null : s.Proc;
                        double upMbps, upCpu, downMbps, downCpu;
                        try
                        {
                            (upMbps, upCpu) = await TransferAsync(proxy, bytes, sideCpu, ["-X", "POST", "-T", file, "-H", "Expect:", "-H", "Content-Type: application/octet-stream", s.Url + "upload"], expectBody: bytes.ToString(CultureInfo.InvariantCulture));
                            (downMbps, downCpu) = await TransferAsync(proxy, bytes, sideCpu, ["-o", "/dev/null", ColdStart.Inv($"{s.Url}download?bytes={bytes}")], expectBody: null);
                        }
                        catch (InvalidOperationException ex)
                        {
                            Console.WriteLine($"  {c.Name}: {ex.Message}");
                            running[at] = (c, s, ex.Message, samples);
                            continue;
                        }
                        if (round < 0)
                        {
                            continue; // the unmeasured first transfer each way
                        }

                        samples.Add(new Sample(upMbps, upCpu, downMbps, downCpu));
                        Console.WriteLine(ColdStart.Inv($"  round {round + 1} {c.Name,-22} upload {upMbps,7:F0} MB/s cpu {upCpu:F2} s   download {downMbps,7:F0} MB/s cpu {downCpu:F2} s"));
                    }
                }

                var table = new StringBuilder();
                table.AppendLine($"## Streamed {o.BodyMb} MB body, {placement}{(pinned ? " (proxy `taskset -c 1`, curl + upstream on core 0)" : "")}");
                table.AppendLine();
                table.AppendLine("| target | upload MB/s | upload proxy CPU s | download MB/s | download proxy CPU s | upload CPU vs nginx | download CPU vs nginx | proxy peak RSS MB |");
                table.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
                var nginx = running.Find(r => r.Contender.Name == "nginx").Samples;
                foreach (var (c, s, failed, samples) in running)
                {
                    if (samples.Count == 0)
                    {
                        table.AppendLine($"| {c.Name} | n/a: {failed ?? "no samples"} | | | | | | |");
                        continue;
                    }

                    var upCpu = ColdStart.Median(samples, x => x.UploadCpuS);
                    var downCpu = ColdStart.Median(samples, x => x.DownloadCpuS);
                    table.AppendLine(ColdStart.Inv($"| {c.Name} | {ColdStart.Median(samples, x => x.UploadMbps):F0} | {Num(upCpu)} | {ColdStart.Median(samples, x => x.DownloadMbps):F0} | {Num(downCpu)} | {Ratio(upCpu, nginx, x => x.UploadCpuS)} | {Ratio(downCpu, nginx, x => x.DownloadCpuS)} | {(c.Name == "direct" ? "-" : Num(s!.Proc.PeakRssMb()))} |"));
                }

                table.AppendLine();
                foreach (var (c, _, _, _) in running)
                {
                    table.AppendLine($"- `{c.Name}`: {c.Description}");
                }

                table.AppendLine();
                Console.WriteLine(table);
                report.Append(table);
            }
            finally
            {
                foreach (var (c, s, _, _) in running)
                {
                    if (c.Name != "direct")
                    {
                        s?.Proc.Dispose();
                    }
                }
            }
        }

        report.AppendLine(ColdStart.Inv($"Run took {(DateTime.Now - started).TotalMinutes:F1} min."));
        File.Delete(file);
        return await ColdStart.Write(o, report, started, "stream");
    }

    /// <summary>One curl transfer; MB/s over curl's total time and the proxy's CPU seconds meanwhile. Throws when the answer is not a whole one.</summary>
    private static async Task<(double Mbps, double CpuS)> TransferAsync(Proc? proxy, long bytes, string? cpus, List<string> curlArgs, string? expectBody)
    {
        var cpu0 = proxy?.CpuMicros() ?? 0;
        using var curl = Proc.Start("curl", ["-s", "-S", "--max-time", "300", "-w", "\n%{http_code} %{size_upload} %{size_download} %{time_total}", .. curlArgs], cpus);
        var output = (await curl.WaitForExitAsync(TimeSpan.FromSeconds(320))).TrimEnd();
        var cpu1 = proxy?.CpuMicros() ?? 0;
        var lines = output.Split('\n');
        var stats = lines[^1].Split(' ');
        var moved = long.Parse(stats[expectBody is null ? 2 : 1], CultureInfo.InvariantCulture);
        var ok = stats[0] == "200" && moved == bytes && (expectBody is null || (lines.Length >= 2 && lines[^2].Trim() == expectBody));
        if (!ok)
        {
            throw new InvalidOperationException("transfer incomplete: " + output.Replace('\n', ' '));
        }

        var seconds = double.Parse(stats[3], CultureInfo.InvariantCulture);
        return (bytes / 1048576.0 / seconds, proxy is null ? double.NaN : (cpu1 - cpu0) / 1e6);
    }

    private static string Num(double v) => double.IsNaN(v) ? "-" : v.ToString("F2", CultureInfo.InvariantCulture);

    private static string Ratio(double v, List<Sample> nginx, Func<Sample, double> f) =>
        nginx.Count == 0 || double.IsNaN(v) ? "-" : (v / ColdStart.Median(nginx, f)).ToString("F2", CultureInfo.InvariantCulture);
}
