// The things measured: the upstream itself, nginx, HAProxy, the gateway (minimal, full features, metrics off, access log, edge policies),
// plain YARP and the naive client-per-request forwarder; or, in --knobs mode, the gateway under runtime settings.
using System.Globalization;

namespace Gateway.Benchmarks.Load;

internal sealed record TargetContext(string Work, string Placement, int UpstreamPort, int RedisPort, string? ProxyCpu, int Cores, HarnessOptions Options, int H2cPort = 0);

internal sealed class RunningTarget(Target target, string url, Proc? proc)
{
    public Target Target { get; } = target;
    public string Url { get; } = url;
    public Proc? Proc { get; } = proc;
    public string? NotAvailable { get; set; }
    public string? Failed { get; set; }
    public List<string> Headers { get; } = [];
    public List<WrkResult> Samples { get; } = [];
    public double PeakRssMb { get; set; } = double.NaN;

    /// <summary>Round 1's warm-up: seconds of load until steady, req/s of its first chunk, and whether --max-warmup cut it.</summary>
    public int WarmupSeconds { get; set; }
    public double ColdRps { get; set; } = double.NaN;
    public bool WarmupMaxHit { get; set; }
    public string ManagementUrl { get; init; } = "";

    /// <summary>Asked once the rounds are over, before the process stops; its answer is printed under the table.</summary>
    public Func<Task<string>>? Finish { get; set; }

    /// <summary>The load generator for this target (seconds, CPU list); null: wrk with <see cref="Headers"/>.</summary>
    public Func<int, string?, Task<WrkResult>>? Load { get; set; }

    public string? Note { get; set; }
}

internal sealed class Target(string name, string description, Func<TargetContext, Target, Task<RunningTarget>> start, bool h2c = false)
{
    public string Name { get; } = name;
    public string Description { get; } = description;

    /// <summary>Loaded with h2load against the h2c upstream (<see cref="Apps.BenchUpstream"/>), which the harness then starts.</summary>
    public bool H2c { get; } = h2c;

    public Task<RunningTarget> StartAsync(TargetContext ctx) => start(ctx, this);

    public static List<Target> All(HarnessOptions o) =>
    [
        new("direct", "wrk straight to the upstream (the limit)", (ctx, t) =>
            Task.FromResult(new RunningTarget(t, $"http://127.0.0.1:{ctx.UpstreamPort}/", null))),
        new("nginx", "nginx reverse proxy, upstream keepalive 64, one worker per core", StartNginxAsync),
        new("haproxy", "HAProxy, http-reuse always, one thread per core", StartHaproxyAsync),
        Gateway("gateway-minimal", "the gateway, one route, one destination", (ctx) => Servers.GatewayMinimal(ctx.UpstreamPort), []),
        .. o.Builds.Select(b => Gateway("gateway-minimal" + b.Suffix, $"gateway-minimal, {b.What} ({b.Program})", (ctx) => Servers.GatewayMinimal(ctx.UpstreamPort), [], program: b.Program)),
        Gateway("gateway-full", "metrics + affinity (cookie sent) + Redis rate limit", (ctx) => Servers.GatewayFull(ctx.UpstreamPort, ctx.RedisPort), []),
        Gateway("gateway-split", "minimal + a sticky 90/10 Split over two clusters (cohort cookie sent)", (ctx) => Servers.GatewaySplit(ctx.UpstreamPort), []),
        Gateway("gateway-ratelimit", "minimal + a Redis-backed rate limit only (issue 8's latency cost)", (ctx) => Servers.GatewayRateLimit(ctx.UpstreamPort, ctx.RedisPort), []),
        Gateway("gateway-metrics-off", "minimal with Gateway__Telemetry__Metrics=false", (ctx) => Servers.GatewayMinimal(ctx.UpstreamPort),
            new() { ["Gateway__Telemetry__Metrics"] = "false" }),
        Gateway("gateway-compression", "minimal + Brotli/gzip on the 64-byte body (client sends Accept-Encoding; issue 18)", (ctx) => Servers.GatewayCompression(ctx.UpstreamPort), [],
            clientHeaders: [AcceptEncoding]),
        Gateway("gateway-edge", "JWT validation (RS256, JWKS) + named CORS policy + compression on at its defaults (the 64-byte body stays below MinimumBytes) on one route (issue 18)", (ctx) => Servers.GatewayEdge(ctx.UpstreamPort), [],
            clientHeaders: ["Authorization: Bearer " + BenchJwt.Token, "Origin: " + Servers.EdgeOrigin, AcceptEncoding], expectEncoded: false),
        Gateway("gateway-edge-compress-all", "gateway-edge with MinimumBytes 0: every 64-byte body compressed (the worst case)", (ctx) => Servers.GatewayEdge(ctx.UpstreamPort, compressSmallBodies: true), [],
            clientHeaders: ["Authorization: Bearer " + BenchJwt.Token, "Origin: " + Servers.EdgeOrigin, AcceptEncoding]),
        Gateway("gateway-jwt", "the edge route's JWT validation and authorization policy alone (no CORS, no compression): splits gateway-edge's cost", (ctx) => Servers.GatewayEdge(ctx.UpstreamPort, cors: false, compression: false), [],
            clientHeaders: ["Authorization: Bearer " + BenchJwt.Token]),
        new("nginx-gzip", "nginx as above, gzip level 1 on every body (gzip_min_length 0): compression's cost on nginx", StartNginxGzipAsync),
        new("nginx-https", "nginx terminating TLS (the same certificate), upstream keepalive 64, one worker per core", StartNginxHttpsAsync),
        Gateway("gateway-https", "minimal, the proxy listener terminating TLS (the same certificate, PEM files)", (ctx) => Servers.GatewayMinimal(ctx.UpstreamPort),
            [], https: true),
        Gateway("gateway-accesslog", "minimal + the access log at 100% sampling, stdout to a file (issue 23)", (ctx) => Servers.GatewayMinimal(ctx.UpstreamPort),
            new() { ["Gateway__AccessLog__Enabled"] = "true", ["Gateway__AccessLog__SampleRate"] = "1" }),
        new("h2c-direct", "h2load straight to the h2c upstream (the limit for the h2c targets)", (ctx, t) =>
            Task.FromResult(H2cLoad(new RunningTarget(t, $"http://127.0.0.1:{ctx.H2cPort}", null), ctx)), h2c: true),
        new("nginx-grpc", "nginx h2c listener, grpc_pass to the h2c upstream (keepalive 64), one worker per core", StartNginxGrpcAsync, h2c: true),
        GrpcGateway("gateway-grpc", "the gateway, proxy listener Http2 only (h2c), one route to an h2c cluster (HttpRequest Version 2, RequestVersionExact)", null),
        .. o.Builds.Select(b => GrpcGateway("gateway-grpc" + b.Suffix, $"gateway-grpc, {b.What}", b.Program)),
        new("plain-yarp", "AddReverseProxy().LoadFromConfig, runtime defaults", (ctx, t) =>
            StartDotnetAsync(ctx, t, ctx.Options.BenchDll, ["yarp", "--config", WriteConfig(ctx, t, Servers.GatewayMinimal(ctx.UpstreamPort))], [])),
        new("naive", "new HttpClient + handler per request (issue 3)", (ctx, t) =>
            StartDotnetAsync(ctx, t, ctx.Options.BenchDll, ["naive", "--upstream", $"http://127.0.0.1:{ctx.UpstreamPort}/"], [])),
    ];

    /// <summary>The minimal gateway under runtime settings to A/B; "shipped" is the project's runtimeconfig as built.</summary>
    public static List<Target> Knobs(HarnessOptions o)
    {
        var list = new List<Target>
        {
            new("direct", "wrk straight to the upstream (the limit)", (ctx, t) =>
                Task.FromResult(new RunningTarget(t, $"http://127.0.0.1:{ctx.UpstreamPort}/", null))),
            new("nginx", "nginx reverse proxy (reference)", StartNginxAsync),
        };
        // With --gateway-aot or --gateway-r2r, the variants run on that build (the last one given) instead of the JIT one.
        var build = o.Builds.Count > 0 ? o.Builds[^1] : null;
        foreach (var (label, env) in o.KnobVariants)
        {
            list.Add(Gateway("gw " + label + build?.Suffix, string.Join(' ', env.Select(kv => $"{kv.Key}={kv.Value}")), ctx => Servers.GatewayMinimal(ctx.UpstreamPort), env, program: build?.Program));
        }

        return list;
    }

    /// <summary>What a browser sends (gzip, deflate, br): the gateway picks Brotli.</summary>
    private const string AcceptEncoding = "Accept-Encoding: gzip, deflate, br";

    /// <summary>
    /// The minimal gateway proxying gRPC: its proxy listener speaks HTTP/2 only (h2c with prior knowledge, as
    /// docs/protocols.md shows) and the cluster sends HTTP/2 exactly, to the h2c upstream.
    /// </summary>
    private static Target GrpcGateway(string name, string description, string? program) =>
        Gateway(name, description, ctx => Servers.GatewayH2c(ctx.H2cPort), new() { ["Kestrel__Endpoints__Proxy__Protocols"] = "Http2" }, program: program, h2c: true);

    /// <summary>Loads <paramref name="r"/> with h2load (gRPC unary calls) instead of wrk.</summary>
    private static RunningTarget H2cLoad(RunningTarget r, TargetContext ctx)
    {
        var o = ctx.Options;
        var body = Path.Combine(ctx.Work, "grpc-request.bin");
        if (!File.Exists(body))
        {
            File.WriteAllBytes(body, Apps.BenchUpstream.GrpcResponse);
        }

        var url = r.Url.TrimEnd('/') + H2Load.GrpcPath;
        r.Load = (seconds, cpus) => H2Load.RunAsync(url, o.Threads, Math.Max(1, o.Connections / o.H2Streams), o.H2Streams, seconds, body, cpus);
        return r;
    }

    /// <summary>The gateway's environment as the image sets it: the Dockerfile's ENV first, then <paramref name="env"/>.</summary>
    internal static Dictionary<string, string> ShippedEnvironment(Dictionary<string, string> env)
    {
        var shipped = new Dictionary<string, string>(global::Gateway.TestSupport.Dockerfile.Load().FinalEnvironment());
        foreach (var (k, v) in env)
        {
            shipped[k] = v;
        }

        return shipped;
    }

    private static Target Gateway(string name, string description, Func<TargetContext, string> config, Dictionary<string, string> env, List<string>? clientHeaders = null, bool https = false, string? program = null, bool h2c = false, bool expectEncoded = true) =>
        new(name, description, async (ctx, t) =>
        {
            // The gateway runs as the image runs it: the Dockerfile's ENV first, then the target's own overrides.
            var shipped = ShippedEnvironment(env);

            if (https)
            {
                var (certificate, key) = BenchCertificate.Files(ctx.Work);
                shipped["Kestrel__Endpoints__Proxy__Certificate__Path"] = certificate;
                shipped["Kestrel__Endpoints__Proxy__Certificate__KeyPath"] = key;
            }

            var accessLog = env.ContainsKey("Gateway__AccessLog__Enabled");
            var stdoutFile = accessLog ? Path.Combine(ctx.Work, $"{Safe(t.Name)}-{ctx.Placement}.stdout") : null;
            var r = await StartDotnetAsync(ctx, t, program ?? ctx.Options.GatewayDll, ["--config", WriteConfig(ctx, t, config(ctx))], shipped, stdoutFile, clientHeaders ?? [], https ? "https" : "http", h2c);
            if (h2c)
            {
                return H2cLoad(r, ctx);
            }

            r.Headers.AddRange(clientHeaders ?? []);
            if (r.NotAvailable is null && clientHeaders is not null)
            {
                await CheckEdgePoliciesAsync(r, expectEncoded);
            }
            if (r.NotAvailable is null && accessLog)
            {
                await CheckAccessLogAsync(r, stdoutFile!);
            }

            if (r.NotAvailable is null && env.ContainsKey("Gateway__Telemetry__Metrics"))
            {
                // An unknown key is silently ignored by configuration: only count "metrics off" if a proxied request
                // leaves no per-request series (pool and drain gauges stay on by design).
                using (await Http.TryGetAsync(r.Url))
                {
                }

                using var metrics = await Http.TryGetAsync(r.ManagementUrl + "/metrics");
                if (metrics is { IsSuccessStatusCode: true } && (await metrics.Content.ReadAsStringAsync()).Contains("gateway_proxy_requests_total", StringComparison.Ordinal))
                {
                    r.NotAvailable = "n/a: Gateway:Telemetry:Metrics switch not in this build (/metrics still records requests)";
                }
            }

            if (r.NotAvailable is null)
            {
                // Affinity: send the cookie the gateway hands out, as a returning client does (steady state).
                using var probe = await Http.TryGetAsync(r.Url);
                if (probe is not null && probe.Headers.TryGetValues("Set-Cookie", out var cookies))
                {
                    foreach (var c in cookies)
                    {
                        r.Headers.Add("Cookie: " + c.Split(';')[0]);
                    }

                    // A returning client is recognised: no new session, so no Set-Cookie.
                    using var back = await Http.TryGetAsync(r.Url, r.Headers);
                    if (back is null || back.Headers.Contains("Set-Cookie"))
                    {
                        r.Failed = "the affinity cookie it handed out was not accepted back (Set-Cookie again)";
                    }
                }
            }

            return r;
        }, h2c);

    /// <summary>
    /// Only count "access log on" if a proxied request is written as a line (an unknown key would be silently ignored);
    /// at the end, the lines written and dropped (a drop would mean the run measured less than 100% logging).
    /// </summary>
    private static async Task CheckAccessLogAsync(RunningTarget r, string stdoutFile)
    {
        using (await Http.TryGetAsync(r.Url))
        {
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (AccessLogCount(await Http.TryGetAsync(r.ManagementUrl + "/metrics"), "gateway_access_log_written_total") < 1)
        {
            if (DateTime.UtcNow > deadline)
            {
                r.NotAvailable = "n/a: Gateway:AccessLog not in this build (no line written for a proxied request)";
                return;
            }

            await Task.Delay(200);
        }

        r.Finish = async () =>
        {
            using var metrics = await Http.TryGetAsync(r.ManagementUrl + "/metrics");
            var text = metrics is { IsSuccessStatusCode: true } ? await metrics.Content.ReadAsStringAsync() : "";
            var written = AccessLogCount(text, "gateway_access_log_written_total");
            var dropped = AccessLogCount(text, "gateway_access_log_dropped_total");
            var bytes = File.Exists(stdoutFile) ? new FileInfo(stdoutFile).Length : 0;
            File.Delete(stdoutFile);
            return Invariant($"{written:F0} lines written ({bytes / 1e6:F0} MB of stdout), {dropped:F0} dropped");
        };
    }

    private static double AccessLogCount(HttpResponseMessage? metrics, string name)
    {
        using (metrics)
        {
            return metrics is { IsSuccessStatusCode: true } ? AccessLogCount(metrics.Content.ReadAsStringAsync().GetAwaiter().GetResult(), name) : 0;
        }
    }

    private static double AccessLogCount(string metricsText, string name)
    {
        foreach (var line in metricsText.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && !line.StartsWith('#'))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static string WriteConfig(TargetContext ctx, Target t, string json)
    {
        var path = Path.Combine(ctx.Work, $"{Safe(t.Name)}-{ctx.Placement}.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static string Safe(string name) => string.Concat(name.Select(c => char.IsLetterOrDigit(c) ? c : '-'));

    /// <summary>
    /// Only count the compression and edge targets if the features really run: the answer is compressed, the CORS
    /// policy answers the origin, and a request without the token is refused (a key this build lacks is ignored or refused).
    /// </summary>
    /// <param name="r">The started target, with the headers its client sends.</param>
    /// <param name="expectEncoded">False: the client asks for compression but the body is below the route's MinimumBytes, so the answer must not be encoded.</param>
    private static async Task CheckEdgePoliciesAsync(RunningTarget r, bool expectEncoded)
    {
        using var probe = await Http.TryGetAsync(r.Url, r.Headers);
        if (probe is null || !probe.IsSuccessStatusCode)
        {
            r.NotAvailable = Invariant($"n/a: the probe was answered {(int?)probe?.StatusCode}");
            return;
        }

        if (Sends(r, "Accept-Encoding:") && expectEncoded && probe.Content.Headers.ContentEncoding.Count == 0)
        {
            r.NotAvailable = "n/a: the response is not compressed (compression not applied)";
            return;
        }

        if (Sends(r, "Accept-Encoding:") && !expectEncoded && probe.Content.Headers.ContentEncoding.Count != 0)
        {
            r.NotAvailable = "n/a: the 64-byte response is compressed (MinimumBytes not applied)";
            return;
        }

        if (Sends(r, "Origin:") && !probe.Headers.Contains("Access-Control-Allow-Origin"))
        {
            r.NotAvailable = "n/a: no Access-Control-Allow-Origin for the allowed origin (CORS policy not applied)";
            return;
        }

        if (!Sends(r, "Authorization:"))
        {
            return;
        }

        using var anonymous = await Http.TryGetAsync(r.Url, r.Headers.Where(h => !h.StartsWith("Authorization:", StringComparison.Ordinal)));
        if (anonymous is null || (int)anonymous.StatusCode != 401)
        {
            r.NotAvailable = Invariant($"n/a: a request without the token was answered {(int?)anonymous?.StatusCode}, not 401 (JWT not enforced)");
        }
    }

    private static bool Sends(RunningTarget r, string header) => r.Headers.Exists(h => h.StartsWith(header, StringComparison.Ordinal));

    /// <summary>Listeners on loopback (proxy <paramref name="port"/>, management <paramref name="mgmt"/>), warnings only, then <paramref name="extraEnv"/>.</summary>
    internal static Dictionary<string, string> DotnetEnvironment(int port, int mgmt, Dictionary<string, string> extraEnv, string scheme = "http")
    {
        var env = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Kestrel__Endpoints__Proxy__Url"] = $"{scheme}://127.0.0.1:{port}",
            ["Kestrel__Endpoints__Management__Url"] = $"http://127.0.0.1:{mgmt}",
            ["Logging__LogLevel__Default"] = "Warning",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };
        foreach (var (k, v) in extraEnv)
        {
            env[k] = v;
        }

        return env;
    }

    /// <summary>How to run a build: a .dll through <c>dotnet</c>, a native executable (ReadyToRun or AOT publish) directly.</summary>
    internal static (string File, List<string> Args) Launch(string program, IEnumerable<string> args) =>
        program.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ("dotnet", [program, .. args]) : (Path.GetFullPath(program), [.. args]);

    private static async Task<RunningTarget> StartDotnetAsync(TargetContext ctx, Target t, string dll, List<string> args, Dictionary<string, string> extraEnv, string? stdoutFile = null, List<string>? probeHeaders = null, string scheme = "http", bool h2c = false)
    {
        var port = Proc.FreePort();
        var mgmt = Proc.FreePort();
        var env = DotnetEnvironment(port, mgmt, extraEnv, scheme);

        if (!File.Exists(dll))
        {
            return new RunningTarget(t, "", null) { NotAvailable = "n/a: no build at " + dll };
        }

        var (file, argv) = Launch(dll, args);
        var proc = Proc.Start(file, argv, ctx.ProxyCpu, env, stdoutFile);
        var r = new RunningTarget(t, $"{scheme}://127.0.0.1:{port}/", proc) { ManagementUrl = $"http://127.0.0.1:{mgmt}" };
        var why = h2c
            ? await H2Load.WaitOkAsync(r.Url, proc, TimeSpan.FromSeconds(60))
            : await Http.WaitOkAsync(r.Url, proc, TimeSpan.FromSeconds(60), probeHeaders ?? []);
        if (why is not null)
        {
            r.NotAvailable = "n/a: " + why;
        }

        return r;
    }

    private static Task<RunningTarget> StartNginxAsync(TargetContext ctx, Target t) =>
        StartNginxWithAsync(ctx, t, "proxy", port => Servers.ProxyNginx(ctx.Work, port, ctx.UpstreamPort, ctx.Cores), "http");

    private static async Task<RunningTarget> StartNginxGzipAsync(TargetContext ctx, Target t)
    {
        var r = await StartNginxWithAsync(ctx, t, "proxy-gzip", port => Servers.ProxyNginx(ctx.Work, port, ctx.UpstreamPort, ctx.Cores, gzipAll: true), "http");
        r.Headers.Add(AcceptEncoding);
        using var probe = r.NotAvailable is null ? await Http.TryGetAsync(r.Url, r.Headers) : null;
        if (r.NotAvailable is null && (probe is null || probe.Content.Headers.ContentEncoding.Count == 0))
        {
            r.NotAvailable = "n/a: nginx did not gzip the response";
        }

        return r;
    }

    private static Task<RunningTarget> StartNginxHttpsAsync(TargetContext ctx, Target t) =>
        StartNginxWithAsync(ctx, t, "proxy-https", port => Servers.ProxyNginx(ctx.Work, port, ctx.UpstreamPort, ctx.Cores, BenchCertificate.Files(ctx.Work)), "https");

    private static Task<RunningTarget> StartNginxGrpcAsync(TargetContext ctx, Target t) =>
        StartNginxWithAsync(ctx, t, "proxy-grpc", port => Servers.ProxyNginxGrpc(ctx.Work, port, ctx.H2cPort, ctx.Cores), "http", h2c: true);

    /// <summary>nginx with the config made for its port; ready once it proxies (an h2c probe call for the h2c target).</summary>
    private static async Task<RunningTarget> StartNginxWithAsync(TargetContext ctx, Target t, string label, Func<int, string> config, string scheme, bool h2c = false)
    {
        var port = Proc.FreePort();
        var conf = Path.Combine(ctx.Work, $"{label}-{ctx.Placement}.conf");
        await File.WriteAllTextAsync(conf, config(port));
        var proc = Proc.Start("nginx", ["-p", ctx.Work, "-e", Path.Combine(ctx.Work, $"{label}-error.log"), "-c", conf], ctx.ProxyCpu);
        var r = new RunningTarget(t, $"{scheme}://127.0.0.1:{port}/", proc);
        var why = h2c ? await H2Load.WaitOkAsync(r.Url, proc, TimeSpan.FromSeconds(20)) : await Http.WaitOkAsync(r.Url, proc, TimeSpan.FromSeconds(20));
        r.NotAvailable = why is null ? null : "n/a: " + why;
        return h2c ? H2cLoad(r, ctx) : r;
    }

    private static async Task<RunningTarget> StartHaproxyAsync(TargetContext ctx, Target t)
    {
        var port = Proc.FreePort();
        var conf = Path.Combine(ctx.Work, $"haproxy-{ctx.Placement}.cfg");
        await File.WriteAllTextAsync(conf, Servers.Haproxy(port, ctx.UpstreamPort, ctx.Cores));
        var proc = Proc.Start("haproxy", ["-db", "-f", conf], ctx.ProxyCpu);
        var r = new RunningTarget(t, $"http://127.0.0.1:{port}/", proc);
        r.NotAvailable = await Http.WaitOkAsync(r.Url, proc, TimeSpan.FromSeconds(20)) is { } why ? "n/a: " + why : null;
        return r;
    }

    internal static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
