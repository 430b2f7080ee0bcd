using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Gateway.TestSupport;

/// <summary>
/// A real dnsmasq (Debian's dnsmasq-base; tests/run.sh installs it when missing) answering on 127.0.0.1:&lt;free port&gt; (UDP and TCP)
/// from a hosts file this fixture writes, so one name can carry several A/AAAA records (orders.shop.svc.cluster.local -> 127.0.0.2,
/// 127.0.0.3, ...). Records have a 1 s TTL (--local-ttl), names under cluster.local that the file lacks are NXDOMAIN (--local), and
/// nothing is forwarded anywhere (--no-resolv, no servers). <see cref="SetRecordsAsync"/> rewrites the file and sends SIGHUP, which
/// makes dnsmasq clear its cache and re-read it; <see cref="StopAsync"/>/<see cref="StartAsync()"/> are an outage on the same port.
/// The process runs in the foreground as the current user, with its pid file and config in a temp directory, and is ended by its PID.
/// </summary>
public sealed class DnsmasqServer : IAsyncDisposable
{
    private const int SigHup = 1;
    private const int SigTerm = 15;

    private readonly string _directory;
    private readonly Dictionary<string, List<string>> _records = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<string> _log = new();
    private readonly Lock _gate = new();
    private Process? _process;
    private int _reads;

    private DnsmasqServer(string directory, int ttlSeconds)
    {
        _directory = directory;
        TtlSeconds = ttlSeconds;
    }

    public int Port { get; private set; }

    /// <summary>host:port, as Gateway:Discovery:Dns:Servers takes it.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    public int TtlSeconds { get; }

    private bool _localDomain = true;

    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    public bool IsRunning => _process is { HasExited: false };

    public string Output => string.Join('\n', _log);

    private string HostsFile => Path.Combine(_directory, "hosts");

    public static string Executable =>
        new[] { "/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/usr/local/sbin/dnsmasq" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("dnsmasq is not installed; run tests/run.sh, which installs it (apt-get install -y dnsmasq-base).");

    /// <summary>
    /// Starts dnsmasq serving <paramref name="records"/> (name -> addresses, IPv4 or IPv6). With <paramref name="localDomain"/>
    /// false, cluster.local is not its own: a question it has no record for (an AAAA of a name with only A records) is
    /// REFUSED instead of answered empty, as by a resolver with nowhere to forward to.
    /// </summary>
    public static async Task<DnsmasqServer> StartAsync(IReadOnlyDictionary<string, string[]>? records = null, int ttlSeconds = 1, bool localDomain = true)
    {
        var server = new DnsmasqServer(Directory.CreateTempSubdirectory("gateway-dnsmasq-").FullName, ttlSeconds) { _localDomain = localDomain };
        foreach (var (name, addresses) in records ?? new Dictionary<string, string[]>())
        {
            server._records[name] = [.. addresses];
        }

        server.WriteHostsFile();
        for (var attempt = 0; ; attempt++)
        {
            server.Port = FreeUdpAndTcpPort();
            try
            {
                await server.StartAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 4 && server.Output.Contains("Address already in use", StringComparison.Ordinal))
            {
            }
        }
    }

    /// <summary>Starts dnsmasq again on the same port (after <see cref="StopAsync"/>), with the current records.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var readsBefore = Volatile.Read(ref _reads);
        var configFile = Path.Combine(_directory, "dnsmasq.conf");
        File.WriteAllText(configFile, "# empty: everything is on the command line; this keeps /etc/dnsmasq.conf out\n");
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--keep-in-foreground",
            $"--conf-file={configFile}",
            "--no-resolv",
            "--no-hosts",
            $"--addn-hosts={HostsFile}",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            $"--port={Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
            $"--local-ttl={TtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
            _localDomain ? "--local=/cluster.local/" : "--domain-needed",
            $"--user={Environment.UserName}",
            $"--pid-file={Path.Combine(_directory, "dnsmasq.pid")}",
            "--log-facility=-",
            "--log-queries",
        })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("dnsmasq did not start");
        process.OutputDataReceived += (_, e) => OnLog(e.Data);
        process.ErrorDataReceived += (_, e) => OnLog(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        try
        {
            // dnsmasq binds its sockets before it reads the hosts file, so the "read" line means it is answering.
            await Wait.UntilAsync(() => process.HasExited || Volatile.Read(ref _reads) > readsBefore, TimeSpan.FromSeconds(10), $"dnsmasq on port {Port}");
        }
        catch (TimeoutException)
        {
            Kill(process);
            throw;
        }

        if (process.HasExited)
        {
            await process.WaitForExitAsync();
            _process = null;
            throw new InvalidOperationException($"dnsmasq exited with {process.ExitCode}: {Output}");
        }
    }

    /// <summary>Replaces the records of <paramref name="name"/> (none: the name is gone) and waits until dnsmasq has re-read them.</summary>
    public async Task SetRecordsAsync(string name, params string[] addresses)
    {
        lock (_gate)
        {
            if (addresses.Length == 0)
            {
                _records.Remove(name);
            }
            else
            {
                _records[name] = [.. addresses];
            }

            WriteHostsFile();
        }

        if (_process is not { HasExited: false } process)
        {
            return; // read at the next start
        }

        var readsBefore = Volatile.Read(ref _reads);
        if (SendSignal(process.Id, SigHup) != 0)
        {
            throw new InvalidOperationException($"kill -HUP {process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        }

        await Wait.UntilAsync(() => Volatile.Read(ref _reads) > readsBefore, TimeSpan.FromSeconds(10), "dnsmasq to re-read its hosts file");
    }

    /// <summary>An outage: SIGTERM (SIGKILL if it lingers) and wait for the process to be gone; the port stops answering.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        if (!process.HasExited)
        {
            SendSignal(process.Id, SigTerm);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                Kill(process);
            }
        }

        process.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void OnLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue(line);
        if (line.Contains("read " + HostsFile + " - ", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _reads);
        }
    }

    private void WriteHostsFile()
    {
        var text = new StringBuilder("# written by DnsmasqServer\n");
        foreach (var (name, addresses) in _records)
        {
            foreach (var address in addresses)
            {
                text.Append(IPAddress.Parse(address)).Append(' ').Append(name).Append('\n');
            }
        }

        // Write-then-rename, so dnsmasq never reads half a file.
        var temp = HostsFile + ".tmp";
        File.WriteAllText(temp, text.ToString());
        File.Move(temp, HostsFile, overwrite: true);
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill();
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
    }

    private static int FreeUdpAndTcpPort()
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var port = Ports.GetFree();
            try
            {
                using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("no loopback port free for both UDP and TCP");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
