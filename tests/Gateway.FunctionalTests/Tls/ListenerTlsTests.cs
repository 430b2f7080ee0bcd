using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.RateLimiting;
using Gateway.FunctionalTests.Resilience;
using Gateway.TestSupport;

namespace Gateway.FunctionalTests.Tls;

/// <summary>
/// The listener's certificates from files: rotated by a Secret's ..data swap under load without a failed request or a
/// dropped connection, a broken rotation kept out, SNI by host name with a default, the expiry metric.
/// </summary>
public sealed class ListenerTlsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RotationDeadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task SecretDataSwap_UnderSteadyLoad_NewHandshakesGetTheNewCertificateWithin5s_NoRequestFails_KeepAliveConnectionContinues()
    {
        await using var rotation = await Rotation.StartAsync();
        var (ca, first, second, mount, port, gateway) = (rotation.Ca, rotation.First, rotation.Second, rotation.Mount, rotation.Port, rotation.Gateway);

        // One keep-alive connection for the whole test: its handshake count must stay 1, and every request on it succeed.
        var keepAliveHandshakes = 0;
        using var keepAlive = TlsProbe.Client(port, ca, _ => Interlocked.Increment(ref keepAliveHandshakes), maxConnections: 1);
        Assert.Equal("a", await keepAlive.GetStringAsync("/"));

        // Steady load on new connections (Connection: close), each one a new handshake that reports what it was shown.
        var failures = new ConcurrentQueue<string>();
        var newestSecondSeen = Stopwatch.StartNew();
        long swappedAt = -1;
        long firstSecondAt = -1;
        var requests = 0;
        var keepAliveRequests = 0;
        using var stop = new CancellationTokenSource();
        async Task NewConnectionsAsync()
        {
            using var client = TlsProbe.Client(port, ca, presented =>
            {
                if (presented.Subject == "CN=gateway-second" && Interlocked.Read(ref swappedAt) >= 0)
                {
                    Interlocked.CompareExchange(ref firstSecondAt, newestSecondSeen.ElapsedMilliseconds, -1);
                }
            });
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, "/") { Headers = { ConnectionClose = true } };
                    using var response = await client.SendAsync(request);
                    Interlocked.Increment(ref requests);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Enqueue($"status {(int)response.StatusCode}");
                    }
                }
                catch (HttpRequestException ex)
                {
                    failures.Enqueue(ex.ToString());
                }
            }
        }

        async Task KeepAliveAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    Assert.Equal("a", await keepAlive.GetStringAsync("/"));
                    Interlocked.Increment(ref keepAliveRequests);
                }
                catch (HttpRequestException ex)
                {
                    failures.Enqueue("keep-alive: " + ex);
                }
            }
        }

        var load = new[] { NewConnectionsAsync(), NewConnectionsAsync(), KeepAliveAsync() };
        await Wait.UntilAsync(() => Task.FromResult(Volatile.Read(ref requests) > 20), TimeSpan.FromSeconds(30), "load running");

        Interlocked.Exchange(ref swappedAt, newestSecondSeen.ElapsedMilliseconds);
        mount.Swap(second);
        await Wait.UntilAsync(() => Task.FromResult(Interlocked.Read(ref firstSecondAt) >= 0), TimeSpan.FromSeconds(30), "a handshake presenting the new certificate");
        var afterSwap = Volatile.Read(ref requests);
        await Wait.UntilAsync(() => Task.FromResult(Volatile.Read(ref requests) > afterSwap + 20), TimeSpan.FromSeconds(30), "load after the swap");
        await stop.CancelAsync();
        await Task.WhenAll(load);

        var took = TimeSpan.FromMilliseconds(firstSecondAt - swappedAt);
        output.WriteLine($"new certificate first presented {took.TotalMilliseconds:F0} ms after the swap; {requests} requests on new connections, {keepAliveRequests} on the keep-alive one, {failures.Count} failed");
        Assert.True(took <= RotationDeadline, $"the new certificate was first presented {took.TotalSeconds:F1} s after the swap");
        Assert.True(failures.IsEmpty, $"{failures.Count} failed requests of {requests}: {string.Join("\n", failures.Take(3))}");
        Assert.Equal(1, keepAliveHandshakes);
        Assert.True(keepAliveRequests > 0);
        Assert.Equal("CN=gateway-second", (await TlsProbe.PresentedAsync(port, "localhost")).Subject);
        Assert.Equal(1, await ResilienceConfig.ScrapeAsync(gateway, "gateway_tls_certificate_reloads_total", "result=\"applied\""));
    }

    [Fact]
    public async Task RotationToABrokenFile_KeepsTheOldCertificate_IsLoggedOnceAndCounted_ThenAGoodFileApplies()
    {
        await using var rotation = await Rotation.StartAsync();
        var (ca, first, second, mount, port, gateway) = (rotation.Ca, rotation.First, rotation.Second, rotation.Mount, rotation.Port, rotation.Gateway);

        // The new certificate with the old key: the key does not match.
        mount.Swap(new Dictionary<string, string> { ["tls.crt"] = second.CertificatePem, ["tls.key"] = first.KeyPem });
        await gateway.WaitForLogAsync("the changed files were rejected", TimeSpan.FromSeconds(30));

        // Several polls (1 s) later: still one line, one count, the old certificate on new handshakes.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(1, gateway.CountLog("the changed files were rejected"));
        Assert.Contains("Kestrel:Endpoints:Secure:Certificate:Path", gateway.Output, StringComparison.Ordinal);
        Assert.Equal(1, await ResilienceConfig.ScrapeAsync(gateway, "gateway_tls_certificate_reloads_total", "result=\"rejected\""));
        Assert.Equal("CN=gateway-first", (await TlsProbe.PresentedAsync(port, "localhost")).Subject);
        using (var client = TlsProbe.Client(port, ca))
        {
            Assert.Equal("a", await client.GetStringAsync("/"));
        }

        // A PEM with no certificate in it: rejected too.
        mount.Swap(new Dictionary<string, string> { ["tls.crt"] = "not a certificate\n", ["tls.key"] = second.KeyPem });
        await gateway.WaitForLogAsync("the changed files were rejected", TimeSpan.FromSeconds(30), count: 2);
        Assert.Equal("CN=gateway-first", (await TlsProbe.PresentedAsync(port, "localhost")).Subject);

        mount.Swap(second);
        await Wait.UntilAsync(
            async () => (await TlsProbe.PresentedAsync(port, "localhost")).Subject == "CN=gateway-second", TimeSpan.FromSeconds(30), "the good certificate applied");
        Assert.Equal(2, await ResilienceConfig.ScrapeAsync(gateway, "gateway_tls_certificate_reloads_total", "result=\"rejected\""));
    }

    [Fact]
    public async Task Sni_TwoHostNamesGetTheirOwnCertificates_AnUnknownNameGetsTheDefault_AndTheExpiryMetricIsNotAfter()
    {
        using var ca = TestCertificate.CreateAuthority();
        using var fallback = ca.Issue("CN=gateway-default", notAfter: DateTimeOffset.UtcNow.AddDays(30));
        using var alpha = ca.Issue("CN=alpha", ["alpha.test"], notAfter: DateTimeOffset.UtcNow.AddDays(7));
        using var beta = ca.Issue("CN=beta", ["beta.test"], notAfter: DateTimeOffset.UtcNow.AddDays(90));
        using var files = new TempFiles();
        await using var upstream = await UpstreamServer.StartAsync("a");
        var port = Ports.GetFree();
        var (defaultCrt, defaultKey) = files.Write("default", fallback);
        var (alphaCrt, alphaKey) = files.Write("alpha", alpha);
        var (betaCrt, betaKey) = files.Write("beta", beta);
        await using var gateway = await StartAsync(GatewayConfig.SingleCluster(upstream).ToJson(), port, defaultCrt, defaultKey, new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Secure__Sni__alpha.test__Certificate__Path"] = alphaCrt,
            ["Kestrel__Endpoints__Secure__Sni__alpha.test__Certificate__KeyPath"] = alphaKey,
            ["Kestrel__Endpoints__Secure__Sni__beta.test__Certificate__Path"] = betaCrt,
            ["Kestrel__Endpoints__Secure__Sni__beta.test__Certificate__KeyPath"] = betaKey,
        });

        Assert.Equal("CN=alpha", (await TlsProbe.PresentedAsync(port, "alpha.test")).Subject);
        Assert.Equal("CN=beta", (await TlsProbe.PresentedAsync(port, "beta.test")).Subject);
        Assert.Equal("CN=gateway-default", (await TlsProbe.PresentedAsync(port, "unknown.test")).Subject);
        Assert.Equal("CN=gateway-default", (await TlsProbe.PresentedAsync(port, "localhost")).Subject);

        foreach (var (name, certificate) in new[] { ("default", fallback), ("alpha.test", alpha), ("beta.test", beta) })
        {
            var expected = new DateTimeOffset(certificate.Certificate.NotAfter.ToUniversalTime()).ToUnixTimeSeconds();
            Assert.Equal(expected, await ResilienceConfig.ScrapeAsync(gateway, "gateway_tls_certificate_expiry_seconds", "listener=\"Secure\"", $"name=\"{name}\""));
        }
    }

    [Fact]
    public async Task Http2_IsNegotiatedByAlpn_AndAFailedHandshakeIsCounted()
    {
        using var ca = TestCertificate.CreateAuthority();
        using var certificate = ca.Issue("CN=gateway");
        using var files = new TempFiles();
        await using var upstream = await UpstreamServer.StartAsync("a");
        var port = Ports.GetFree();
        var (crt, key) = files.Write("listener", certificate);
        await using var gateway = await StartAsync(GatewayConfig.SingleCluster(upstream).ToJson(), port, crt, key);

        using var client = TlsProbe.Client(port, ca);
        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact });
        Assert.Equal(HttpVersion.Version20, response.Version);

        // Plain HTTP to the TLS port: the handshake fails, and is counted.
        using (var tcp = new System.Net.Sockets.TcpClient())
        {
            await tcp.ConnectAsync("127.0.0.1", port);
            var stream = tcp.GetStream();
            await stream.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            var buffer = new byte[256];
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
        }

        await Wait.UntilAsync(
            async () => await RateLimitTestKit.ScrapeCounterAsync(gateway, "gateway_tls_handshake_failures_total", "side=\"listener\"", "listener=\"Secure\"") >= 1,
            TimeSpan.FromSeconds(30), "the refused handshake counted");
    }

    [Fact]
    public async Task ManagementListener_ServesHttpsFromFiles_Too()
    {
        using var ca = TestCertificate.CreateAuthority();
        using var certificate = ca.Issue("CN=gateway-management");
        using var files = new TempFiles();
        await using var upstream = await UpstreamServer.StartAsync("a");
        var (crt, key) = files.Write("management", certificate);
        var port = Ports.GetFree();
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.SingleCluster(upstream).ToJson(), new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Management__Url"] = $"https://127.0.0.1:{port}",
            ["Kestrel__Endpoints__Management__Certificate__Path"] = crt,
            ["Kestrel__Endpoints__Management__Certificate__KeyPath"] = key,
        }, waitUntilReady: false);

        using var management = TlsProbe.Client(port, ca);
        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    return (await management.GetAsync("/healthz/ready")).StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(60), () => "management over https ready\n" + gateway.Output);
        Assert.Equal("CN=gateway-management", (await TlsProbe.PresentedAsync(port, "localhost")).Subject);
        var metrics = await management.GetStringAsync("/metrics");
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("gateway_tls_certificate_expiry_seconds{", StringComparison.Ordinal)
            && l.Contains("listener=\"Management\"", StringComparison.Ordinal) && l.Contains("name=\"default\"", StringComparison.Ordinal));
    }

    internal static Task<GatewayProcess> StartAsync(string config, int port, string certificatePath, string keyPath, IDictionary<string, string>? more = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Secure__Url"] = $"https://127.0.0.1:{port}",
            ["Kestrel__Endpoints__Secure__Certificate__Path"] = certificatePath,
            ["Kestrel__Endpoints__Secure__Certificate__KeyPath"] = keyPath,
            ["Gateway__Tls__PollInterval"] = "00:00:01",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return GatewayProcess.StartAsync(config, environment);
    }
}

/// <summary>A gateway whose listener serves <see cref="First"/> from a Secret-style mount; <see cref="Second"/> is the next one.</summary>
internal sealed class Rotation(
    TestCertificate ca, TestCertificate first, TestCertificate second, SecretMount mount, UpstreamServer upstream, int port, GatewayProcess gateway)
    : IAsyncDisposable
{
    public TestCertificate Ca { get; } = ca;

    public TestCertificate First { get; } = first;

    public TestCertificate Second { get; } = second;

    public SecretMount Mount { get; } = mount;

    public int Port { get; } = port;

    public GatewayProcess Gateway { get; } = gateway;

    public static async Task<Rotation> StartAsync()
    {
        var ca = TestCertificate.CreateAuthority();
        var first = ca.Issue("CN=gateway-first");
        var second = ca.Issue("CN=gateway-second");
        var mount = SecretMount.ForCertificate(first);
        var upstream = await UpstreamServer.StartAsync("a");
        var port = Ports.GetFree();
        var gateway = await ListenerTlsTests.StartAsync(GatewayConfig.SingleCluster(upstream).ToJson(), port, mount.Path("tls.crt"), mount.Path("tls.key"));
        return new Rotation(ca, first, second, mount, upstream, port, gateway);
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await upstream.DisposeAsync();
        Mount.Dispose();
        First.Dispose();
        Second.Dispose();
        Ca.Dispose();
    }
}

/// <summary>A temp directory of PEM files for a test.</summary>
public sealed class TempFiles : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("gateway-tls-").FullName;

    public (string CertificatePath, string KeyPath) Write(string name, TestCertificate certificate)
    {
        var crt = Path.Combine(Directory, name + ".crt");
        var key = Path.Combine(Directory, name + ".key");
        File.WriteAllText(crt, certificate.CertificatePem);
        File.WriteAllText(key, certificate.KeyPem);
        return (crt, key);
    }

    public string WriteText(string name, string text)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
        return path;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
