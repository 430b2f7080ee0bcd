using System.Net;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Hardening;

/// <summary>Client-caused failures are quiet: no Warning line (nor stack trace) per request, a counter instead.</summary>
public sealed class AbuseQuietTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AThousandMalformedBodies_LogNoWarning_AndAreCounted()
    {
        await using var upstream = await UpstreamServer.StartAsync("a");
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.SingleCluster(upstream).ToJson());
        var before = gateway.OutputLines.Count;

        const int Requests = 1000;
        await Parallel.ForAsync(0, Requests, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            using var client = await RawHttpClient.ConnectAsync(gateway.ProxyPort);
            // Alternately a bad chunk size and a chunk cut short by the client closing its side.
            var body = i % 2 == 0 ? "ZZ\r\nhello\r\n0\r\n\r\n" : "5\r\nhel";
            await client.SendAsync($"POST /upload/{i} HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n\r\n{body}");
            if (i % 2 == 1)
            {
                client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            }

            await client.WaitForCloseAsync(TimeSpan.FromSeconds(30));
        });

        using var management = gateway.CreateManagementClient();
        var counted = 0L;
        await Wait.UntilAsync(async () =>
        {
            counted = ClientErrors(await management.GetStringAsync("/metrics"));
            return counted >= Requests;
        }, TimeSpan.FromSeconds(30), () => $"{Requests} client errors counted, got {counted}");

        var logged = gateway.OutputLines.Skip(before).ToList();
        var warnings = logged.Where(l => l.StartsWith("warn:", StringComparison.Ordinal) || l.StartsWith("fail:", StringComparison.Ordinal)).ToList();
        output.WriteLine($"{logged.Count} lines logged for {Requests} malformed requests; counted {counted}");
        Assert.True(warnings.Count == 0, $"{warnings.Count} warnings, e.g.:\n{string.Join('\n', warnings.Take(3))}");
        Assert.Equal(Requests, counted);
        Assert.DoesNotContain(logged, l => l.Contains("   at ", StringComparison.Ordinal));
    }

    /// <summary>Sum of gateway_client_errors_total over its labels.</summary>
    private static long ClientErrors(string metrics)
    {
        long total = 0;
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith("gateway_client_errors_total", StringComparison.Ordinal))
            {
                total += long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return total;
    }
}
