// Idle keep-alive clients: --clients connections to the proxy listener, each sends one request, reads the answer and
// stays open; the proxy's resident set before and after, per connection. Then each connection is asked once more, to
// show they were all still open (kept alive, not dropped) when memory was read.
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.Benchmarks.Load;

internal static class IdleConnections
{
    private sealed record Sample(int Open, long RssBeforeKb, long RssAfterKb, int StillAnswering, int Failed)
    {
        public double KbPerConnection => Open == 0 ? double.NaN : (RssAfterKb - RssBeforeKb) / (double)Open;
    }

    private static readonly byte[] Request = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

    public static async Task<int> RunAsync(string[] args)
    {
        var o = HarnessOptions.Parse(args);
        var work = Directory.CreateTempSubdirectory("gateway-idle-").FullName;
        var started = DateTime.Now;
        var report = new StringBuilder();
        report.AppendLine(ColdStart.Inv($"# Gateway idle keep-alive connections ({started:yyyy-MM-dd HH:mm}, {Environment.ProcessorCount} cores)"));
        report.AppendLine();
        report.AppendLine(ColdStart.Inv($"{o.IdleClients} client connections to the proxy listener (loopback, source addresses spread over 127.0.0.2-254), 64 opening at a time; each sends one GET and keeps the connection. Proxy RSS (VmRSS, process tree) after a 1 s warm-up (wrk -t1 -c8, connections closed), and 2 s after the last connection answered; {o.Rounds} rounds (proxy restarted each), medians. The gateway runs with the Dockerfile's ENV, Gateway:Limits:MaxConcurrentConnections raised above the client count."));
        report.AppendLine();
        o.AppendBuildsAndNotes(report);
        var limit = o.IdleClients + 1000;
        var gatewayConfig = Servers.GatewayMinimal(0).Replace("{\n  \"ReverseProxy\"", $"{{\n  \"Gateway\": {{ \"Limits\": {{ \"MaxConcurrentConnections\": {limit} }} }},\n  \"ReverseProxy\"", StringComparison.Ordinal);

        foreach (var placement in o.Placements)
        {
            var pinned = placement == "pinned";
            var sideCpu = pinned ? "0" : null;
            var upstreamPort = Proc.FreePort();
            var upstreamConf = Path.Combine(work, $"upstream-{placement}.conf");
            await File.WriteAllTextAsync(upstreamConf, Servers.UpstreamNginx(work, upstreamPort, Proc.FreePort()));
            using var upstream = Proc.Start("nginx", ["-p", work, "-e", Path.Combine(work, "upstream-error.log"), "-c", upstreamConf], sideCpu);
            await Http.WaitOkAsync($"http://127.0.0.1:{upstreamPort}/", upstream, TimeSpan.FromSeconds(20));
            var contenders = Contenders.For(o, work, $"idle-{placement}", gatewayConfig.Replace("127.0.0.1:0/", $"127.0.0.1:{upstreamPort}/", StringComparison.Ordinal),
                port => Servers.ProxyNginx(work, port, upstreamPort, pinned ? 1 : Environment.ProcessorCount)
                    .Replace("proxy.pid", $"idle-{port}.pid", StringComparison.Ordinal)
                    .Replace("worker_processes", $"worker_rlimit_nofile {2 * limit + 100};\nworker_processes", StringComparison.Ordinal)
                    .Replace("worker_connections 8192", ColdStart.Inv($"worker_connections {2 * limit}"), StringComparison.Ordinal),
                yarp: false);
            var samples = contenders.ToDictionary(c => c.Name, _ => new List<Sample>());
            var failures = new Dictionary<string, string>();
            Console.WriteLine($"== idle connections, placement: {placement} ==");
            var addressOffset = 0;
            for (var round = 0; round < o.Rounds; round++)
            {
                for (var k = 0; k < contenders.Count; k++)
                {
                    var c = contenders[(k + round) % contenders.Count];
                    try
                    {
                        var s = await MeasureAsync(o, c, pinned ? "1" : null, addressOffset++);
                        samples[c.Name].Add(s);
                        Console.WriteLine(ColdStart.Inv($"  round {round + 1} {c.Name,-22} {s.Open} open, RSS {s.RssBeforeKb / 1024.0:F1} -> {s.RssAfterKb / 1024.0:F1} MB: {s.KbPerConnection:F1} KB/connection, {s.StillAnswering} still answering, {s.Failed} failed"));
                    }
                    catch (Exception ex) when (ex is InvalidOperationException or FileNotFoundException)
                    {
                        failures[c.Name] = ex.Message;
                        Console.WriteLine($"  round {round + 1} {c.Name}: {ex.Message}");
                    }
                }
            }

            var table = new StringBuilder();
            table.AppendLine($"## Idle connections, {placement}{(pinned ? " (proxy `taskset -c 1`, upstream on core 0)" : "")}");
            table.AppendLine();
            table.AppendLine("| target | connections open | RSS before MB | RSS after MB | KB per idle connection | still answering | failed |");
            table.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var c in contenders)
            {
                var list = samples[c.Name];
                table.AppendLine(list.Count == 0
                    ? $"| {c.Name} | n/a: {failures.GetValueOrDefault(c.Name, "no samples")} | | | | | |"
                    : ColdStart.Inv($"| {c.Name} | {ColdStart.Median(list, s => s.Open):F0} | {ColdStart.Median(list, s => s.RssBeforeKb) / 1024:F1} | {ColdStart.Median(list, s => s.RssAfterKb) / 1024:F1} | {ColdStart.Median(list, s => s.KbPerConnection):F1} | {ColdStart.Median(list, s => s.StillAnswering):F0} | {list.Sum(s => s.Failed)} |"));
            }

            table.AppendLine();
            table.AppendLine("Targets (issue 19):");
            foreach (var c in contenders)
            {
                if (samples[c.Name].Count > 0 && c.Name.StartsWith("gateway", StringComparison.Ordinal))
                {
                    var kb = ColdStart.Median(samples[c.Name], s => s.KbPerConnection);
                    table.AppendLine(ColdStart.Inv($"- {(kb <= 10 ? "met" : "MISSED")}: {c.Name} <= 10 KB per idle client connection: {kb:F1} KB"));
                }
            }

            table.AppendLine();
            Console.WriteLine(table);
            report.Append(table);
        }

        report.AppendLine(ColdStart.Inv($"Run took {(DateTime.Now - started).TotalMinutes:F1} min."));
        return await ColdStart.Write(o, report, started, "idle");
    }

    private static async Task<Sample> MeasureAsync(HarnessOptions o, Contender c, string? proxyCpu, int addressOffset)
    {
        var s = c.Start(c.Name, proxyCpu);
        using var proc = s.Proc;
        if (!await Contenders.PollOkAsync(s.Url, proc, TimeSpan.FromSeconds(60), intervalMs: 100))
        {
            throw new InvalidOperationException("not ready within 60 s: " + LoadHarness.Tail(proc.Output));
        }

        // Warm the request path (and the upstream pool) first, so "before" is a proxy that has served, not a blank one.
        await Wrk.RunAsync(s.Url, 1, 8, 1, [], null);
        await Task.Delay(1000);
        var before = proc.StatusKb("VmRSS:");
        var port = new Uri(s.Url).Port;
        var sockets = new Socket?[o.IdleClients];
        try
        {
            var failed = 0;
            await Parallel.ForAsync(0, sockets.Length, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
            {
                // 253 source addresses: client ports in TIME_WAIT from the last round never run short.
                var source = new IPAddress(new byte[] { 127, 0, 0, (byte)(2 + (i + addressOffset * 37) % 253) });
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct);
                    if (await AskAsync(socket, ct))
                    {
                        sockets[i] = socket;
                        return;
                    }
                }
                catch (SocketException)
                {
                }

                Interlocked.Increment(ref failed);
                socket.Dispose();
            });
            await Task.Delay(2000);
            var after = proc.StatusKb("VmRSS:");
            var open = sockets.Count(x => x is not null);
            var answering = 0;
            await Parallel.ForAsync(0, sockets.Length, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
            {
                try
                {
                    if (sockets[i] is { } socket && await AskAsync(socket, ct))
                    {
                        Interlocked.Increment(ref answering);
                    }
                }
                catch (SocketException)
                {
                }
            });
            return new Sample(open, before, after, answering, failed);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket?.Dispose();
            }
        }
    }

    /// <summary>One GET on the connection; true when a whole 200 answer (headers and Content-Length body) came back within 30 s.</summary>
    private static async Task<bool> AskAsync(Socket socket, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await socket.SendAsync(Request, SocketFlags.None, timeout.Token);
        var buffer = new byte[4096];
        var have = 0;
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(have), SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                return false;
            }

            have += n;
            var text = Encoding.ASCII.GetString(buffer, 0, have);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                continue;
            }

            var at = text.IndexOf("\r\ncontent-length:", StringComparison.OrdinalIgnoreCase);
            if (at < 0 || at > end)
            {
                return false;
            }

            var lineEnd = text.IndexOf("\r\n", at + 2, StringComparison.Ordinal);
            var length = int.Parse(text.AsSpan(at + 17, lineEnd - at - 17).Trim(), CultureInfo.InvariantCulture);
            if (have >= end + 4 + length)
            {
                return text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal);
            }
        }
    }
}
