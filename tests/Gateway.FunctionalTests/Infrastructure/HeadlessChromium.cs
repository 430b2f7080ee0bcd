using System.Diagnostics;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// A headless Chromium (Debian's chromium; tests/run.sh installs it) loading one page. Every host name but 127.0.0.1
/// fails to resolve and its background services are off, so it talks to nothing but loopback. Its own profile
/// directory; ended by its PID (with its child processes) on dispose.
/// </summary>
public sealed class HeadlessChromium : IDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    public static string Executable =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("chromium is not installed (tests/run.sh installs Debian's chromium package)");

    public static HeadlessChromium Open(string url)
    {
        var profile = Directory.CreateTempSubdirectory("gateway-chromium-").FullName;
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
            "--disable-extensions", "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--metrics-recording-only",
            "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            $"--user-data-dir={profile}", url,
        })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("chromium did not start");
        var browser = new HeadlessChromium(process, profile);
        process.OutputDataReceived += (_, e) => browser.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => browser.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return browser;
    }

    public bool HasExited => _process.HasExited;

    /// <summary>What the browser printed (its last 200 lines), for a failure message.</summary>
    public string Output => string.Join('\n', _output);

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
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
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
