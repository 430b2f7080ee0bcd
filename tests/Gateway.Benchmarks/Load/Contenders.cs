// The proxies the cold-start, idle-connection and large-body modes start fresh (the gateway builds, nginx, plain YARP),
// without waiting for them: each mode measures or waits in its own way.
namespace Gateway.Benchmarks.Load;

internal sealed record Started(Proc Proc, string Url, string? ManagementUrl);

/// <summary>One proxy a mode measures: its name, what it is, and how to start it with a gateway config.</summary>
internal sealed record Contender(string Name, string Description, Func<string, string?, Started> Start);

internal static class Contenders
{
    /// <summary>
    /// The gateway builds (JIT, then --gateway-r2r / --gateway-aot), nginx (given its config for a port) and, with
    /// <paramref name="yarp"/>, plain YARP; each started with <paramref name="gatewayConfig"/> (the gateway and YARP) and
    /// <paramref name="gatewayEnv"/> (the gateway only) on <c>cpus</c>. --only filters by name.
    /// </summary>
    public static List<Contender> For(HarnessOptions o, string work, string mode, string gatewayConfig, Func<int, string> nginxConfig, bool yarp, Dictionary<string, string>? gatewayEnv = null)
    {
        var list = new List<Contender>
        {
            Gateway(work, mode, "gateway-minimal", "the gateway, JIT (`dotnet Gateway.dll`)", o.GatewayDll, gatewayConfig, gatewayEnv),
        };
        foreach (var b in o.Builds)
        {
            list.Add(Gateway(work, mode, "gateway-minimal" + b.Suffix, $"the gateway, {b.What} (`{b.Program}`)", b.Program, gatewayConfig, gatewayEnv));
        }

        list.Add(new("nginx", "nginx, one worker per available core", (name, cpus) =>
        {
            var port = Proc.FreePort();
            var conf = Path.Combine(work, $"{mode}-{name}-{port}.conf");
            File.WriteAllText(conf, nginxConfig(port));
            var proc = Proc.Start("nginx", ["-p", work, "-e", Path.Combine(work, $"{mode}-nginx-error.log"), "-c", conf], cpus);
            return new Started(proc, $"http://127.0.0.1:{port}/", null);
        }));
        if (yarp)
        {
            list.Add(new("plain-yarp", "AddReverseProxy().LoadFromConfig, runtime defaults", (name, cpus) =>
            {
                var (port, mgmt) = (Proc.FreePort(), Proc.FreePort());
                var proc = Proc.Start("dotnet", [o.BenchDll, "yarp", "--config", Write(work, $"{mode}-{name}.json", gatewayConfig)], cpus, Target.DotnetEnvironment(port, mgmt, []));
                return new Started(proc, $"http://127.0.0.1:{port}/", null);
            }));
        }

        return o.Only.Count == 0 ? list : list.FindAll(c => o.Only.Contains(c.Name));
    }

    /// <summary>A gateway build as the image runs it: the Dockerfile's ENV, then <paramref name="env"/>.</summary>
    private static Contender Gateway(string work, string mode, string name, string description, string program, string config, Dictionary<string, string>? env) =>
        new(name, description, (_, cpus) =>
        {
            if (!File.Exists(program))
            {
                throw new FileNotFoundException("no build at " + program);
            }

            var (port, mgmt) = (Proc.FreePort(), Proc.FreePort());
            var (file, args) = Target.Launch(program, ["--config", Write(work, $"{mode}-{name}.json", config)]);
            var proc = Proc.Start(file, args, cpus, Target.DotnetEnvironment(port, mgmt, Target.ShippedEnvironment(env ?? [])));
            return new Started(proc, $"http://127.0.0.1:{port}/", $"http://127.0.0.1:{mgmt}");
        });

    private static string Write(string work, string file, string text)
    {
        var path = Path.Combine(work, file);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Polls <paramref name="url"/> (as fast as a probe allows) until 200 or the deadline; true when ready.</summary>
    public static async Task<bool> PollOkAsync(string url, Proc proc, TimeSpan timeout, int intervalMs = 10)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !proc.HasExited)
        {
            using var response = await Http.TryGetAsync(url);
            if (response is { IsSuccessStatusCode: true })
            {
                return true;
            }

            await Task.Delay(intervalMs);
        }

        return false;
    }
}
