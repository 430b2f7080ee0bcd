// Child processes of the harness (upstream, proxies, wrk) and what /proc says about them.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.Benchmarks.Load;

internal sealed class Proc : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private Proc(Process process) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="file"/>; with <paramref name="cpus"/> it runs under <c>taskset -c</c>. With
    /// <paramref name="stdoutFile"/> its stdout goes straight to that file (as a container runtime's log file), not
    /// through the harness, whose reading would compete for the cores; <see cref="Output"/> then holds stderr only.
    /// </summary>
    public static Proc Start(string file, IEnumerable<string> args, string? cpus = null, IDictionary<string, string>? env = null, string? stdoutFile = null)
    {
        var psi = new ProcessStartInfo(cpus is not null ? "taskset" : stdoutFile is not null ? "sh" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (cpus is not null)
        {
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(cpus);
            if (stdoutFile is not null)
            {
                psi.ArgumentList.Add("sh");
            }
        }

        if (stdoutFile is not null)
        {
            // exec: the shell becomes the process itself, so its /proc figures are the program's.
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("exec \"$0\" \"$@\" > \"$BENCH_STDOUT_FILE\"");
            psi.Environment["BENCH_STDOUT_FILE"] = stdoutFile;
        }

        if (cpus is not null || stdoutFile is not null)
        {
            psi.ArgumentList.Add(file);
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                psi.Environment[k] = v;
            }
        }

        var proc = new Proc(Process.Start(psi)!);
        proc._process.OutputDataReceived += (_, e) => proc.Append(e.Data);
        proc._process.ErrorDataReceived += (_, e) => proc.Append(e.Data);
        proc._process.BeginOutputReadLine();
        proc._process.BeginErrorReadLine();
        return proc;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 200_000)
            {
                _output.AppendLine(line);
            }
        }
    }

    public async Task<string> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // flushes the async readers
        return Output;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    /// <summary>The process and all its descendants (nginx workers are children of the master).</summary>
    public List<int> Tree()
    {
        var result = new List<int> { Pid };
        var parents = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            var stat = ReadStat(pid);
            if (stat is null)
            {
                continue;
            }

            var ppid = int.Parse(stat[1]);
            if (!parents.TryGetValue(ppid, out var list))
            {
                parents[ppid] = list = [];
            }

            list.Add(pid);
        }

        for (var i = 0; i < result.Count; i++)
        {
            if (parents.TryGetValue(result[i], out var children))
            {
                result.AddRange(children);
            }
        }

        return result;
    }

    /// <summary>utime + stime of the whole tree, in microseconds (CLK_TCK is 100 on Linux).</summary>
    public long CpuMicros()
    {
        long ticks = 0;
        foreach (var pid in Tree())
        {
            var stat = ReadStat(pid);
            if (stat is not null)
            {
                // Fields after "pid (comm) ": state=0 ppid=1 ... utime=11 stime=12.
                ticks += long.Parse(stat[11]) + long.Parse(stat[12]);
            }
        }

        return ticks * 10_000;
    }

    /// <summary>Peak resident set (VmHWM) summed over the tree, in MB.</summary>
    public double PeakRssMb() => StatusKb("VmHWM:") / 1024.0;

    /// <summary>A kB field of /proc/PID/status (e.g. "VmRSS:", the current resident set) summed over the tree.</summary>
    public long StatusKb(string field)
    {
        long kb = 0;
        foreach (var pid in Tree())
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                {
                    if (line.StartsWith(field, StringComparison.Ordinal))
                    {
                        kb += long.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim());
                    }
                }
            }
            catch (IOException)
            {
            }
        }

        return kb;
    }

    private static string[]? ReadStat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var close = text.LastIndexOf(')');
            return text[(close + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
