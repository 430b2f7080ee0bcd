using System.Diagnostics;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Discovery;

/// <summary>
/// Keeps <see cref="DnsmasqServer"/> honest with a resolver that is not ours: dig (bind9-dnsutils) asks the fixture's port over UDP
/// and TCP, sees several A records with the short TTL, sees a change after the fixture's reload, and sees nothing during an outage.
/// </summary>
public sealed class DnsmasqFixtureTests(ITestOutputHelper output)
{
    private const string Name = "orders.shop.svc.cluster.local";

    [Fact]
    public async Task Dig_GetsEveryRecord_WithTheShortTtl_OverUdpAndTcp()
    {
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]>
        {
            [Name] = ["127.0.0.2", "127.0.0.3", "127.0.0.4"],
            ["payments.shop.svc.cluster.local"] = ["127.0.0.9"],
            ["dual.shop.svc.cluster.local"] = ["127.0.0.5", "fd00::5"],
        });

        var answer = await DigAsync(dns, Name, "A");
        Assert.Equal(["127.0.0.2", "127.0.0.3", "127.0.0.4"], answer.Select(a => a.Address).Order());
        Assert.All(answer, a => Assert.InRange(a.Ttl, 0, 1));
        Assert.Equal(["127.0.0.2", "127.0.0.3", "127.0.0.4"], (await DigAsync(dns, Name, "A", "+tcp")).Select(a => a.Address).Order());
        Assert.Equal(["fd00::5"], (await DigAsync(dns, "dual.shop.svc.cluster.local", "AAAA")).Select(a => a.Address));
        // A name under cluster.local the file lacks is NXDOMAIN, answered locally (no upstream is ever asked).
        var (_, missing) = await RunDigAsync(dns, "nope.shop.svc.cluster.local", "A");
        Assert.Contains("status: NXDOMAIN", missing, StringComparison.Ordinal);
        output.WriteLine(dns.Output);
    }

    [Fact]
    public async Task Dig_SeesChangedRecords_AfterTheReload_AndNothingDuringAnOutage()
    {
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]> { [Name] = ["127.0.0.2", "127.0.0.3"] });
        var pid = dns.Pid;

        await dns.SetRecordsAsync(Name, "127.0.0.3", "127.0.0.4", "127.0.0.5");
        Assert.Equal(["127.0.0.3", "127.0.0.4", "127.0.0.5"], (await DigAsync(dns, Name, "A")).Select(a => a.Address).Order());
        Assert.Equal(pid, dns.Pid); // reloaded in place by SIGHUP, not restarted

        await dns.StopAsync();
        var (exit, down) = await RunDigAsync(dns, Name, "A");
        Assert.NotEqual(0, exit);
        Assert.Contains("no servers could be reached", down, StringComparison.Ordinal);

        await dns.SetRecordsAsync(Name, "127.0.0.6");
        await dns.StartAsync();
        Assert.Equal(["127.0.0.6"], (await DigAsync(dns, Name, "A")).Select(a => a.Address));
        output.WriteLine(dns.Output);
    }

    private static async Task<List<(string Address, int Ttl)>> DigAsync(DnsmasqServer dns, string name, string type, params string[] extra)
    {
        var (exit, stdout) = await RunDigAsync(dns, name, type, ["+noall", "+answer", .. extra]);
        Assert.True(exit == 0, stdout);
        // "orders.shop.svc.cluster.local. 1 IN A 127.0.0.2"
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 5 && f[3] == type)
            .Select(f => (f[4], int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
    }

    private static async Task<(int ExitCode, string Output)> RunDigAsync(DnsmasqServer dns, string name, string type, params string[] extra)
    {
        var info = new ProcessStartInfo(Dig) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "@127.0.0.1", "-p", dns.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "+time=1", "+tries=1", name, type }.Concat(extra))
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string Dig =>
        new[] { "/usr/bin/dig", "/usr/local/bin/dig" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("dig is not installed; run tests/run.sh, which installs it (apt-get install -y bind9-dnsutils).");
}
