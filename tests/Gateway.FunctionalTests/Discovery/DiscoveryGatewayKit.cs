using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Discovery;

/// <summary>
/// "Pods": real upstreams on loopback addresses of their own (127.0.0.2, .3, ...) that all listen on one port, as the
/// pods behind a Service do, so a discovered address:port is one pod.
/// </summary>
internal sealed class Pods : IAsyncDisposable
{
    private readonly Dictionary<string, UpstreamServer> _pods = new(StringComparer.Ordinal);
    private int _nextAddress = 2;

    private Pods(int port) => Port = port;

    public int Port { get; }

    public IReadOnlyDictionary<string, UpstreamServer> All => _pods;

    public UpstreamServer this[string name] => _pods[name];

    public static async Task<Pods> StartAsync(params string[] names)
    {
        var pods = new Pods(Ports.GetFree());
        foreach (var name in names)
        {
            await pods.AddAsync(name);
        }

        return pods;
    }

    public async Task<UpstreamServer> AddAsync(string name)
    {
        var address = IPAddress.Parse($"127.0.0.{_nextAddress++}");
        var pod = await UpstreamServer.StartAsync(name, Port, address: address);
        _pods[name] = pod;
        return pod;
    }

    /// <summary>The EndpointSlice of Service <c>orders</c> in <c>shop</c>: the named pods ready, unless said otherwise.</summary>
    public JsonObject Slice(params (string Pod, string Condition)[] endpoints) => EndpointSliceJson.Slice(
        "orders-abcde",
        "orders",
        endpoints.Select(e => e.Condition switch
        {
            "terminating" => EndpointSliceJson.Terminating(_pods[e.Pod].Address.ToString(), e.Pod),
            "notready" => EndpointSliceJson.NotReady(_pods[e.Pod].Address.ToString(), e.Pod),
            _ => EndpointSliceJson.Ready(_pods[e.Pod].Address.ToString(), e.Pod),
        }),
        [("http", Port)]);

    public JsonObject Slice(params string[] readyPods) => Slice(readyPods.Select(p => (p, "ready")).ToArray());

    public async ValueTask DisposeAsync()
    {
        foreach (var pod in _pods.Values)
        {
            await pod.DisposeAsync();
        }
    }
}

internal static class DiscoveryGatewayKit
{
    public const string Token = "discovery-test-admin-token-0123456789";
    public const string Cluster = "orders";

    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>One catch-all route to cluster <c>orders</c>, whose destinations come from <paramref name="discovery"/>.</summary>
    public static JsonObject Config(JsonObject discovery, bool affinity = false)
    {
        var cluster = new JsonObject { ["Discovery"] = discovery };
        if (affinity)
        {
            cluster["SessionAffinity"] = new JsonObject { ["Enabled"] = true };
        }

        return new JsonObject
        {
            ["ReverseProxy"] = new JsonObject
            {
                ["Routes"] = new JsonObject
                {
                    ["all"] = new JsonObject { ["ClusterId"] = Cluster, ["Match"] = new JsonObject { ["Path"] = "{**catch-all}" } },
                },
                ["Clusters"] = new JsonObject { [Cluster] = cluster },
            },
        };
    }

    public static JsonObject Kubernetes(string port = "http") =>
        new() { ["Kubernetes"] = new JsonObject { ["Namespace"] = "shop", ["Service"] = "orders", ["Port"] = port } };

    public static JsonObject Dns(int port, string name = "orders.shop.svc.cluster.local") =>
        new() { ["Dns"] = new JsonObject { ["Name"] = name, ["Port"] = port, ["RefreshInterval"] = "00:00:01" } };

    public static Dictionary<string, string> Env(string? kubeConfig = null, string? dnsServer = null, RedisServer? redis = null)
    {
        var env = new Dictionary<string, string> { ["Gateway__Admin__Token"] = Token };
        if (kubeConfig is not null)
        {
            env["Gateway__Discovery__Kubernetes__KubeConfig"] = kubeConfig;
        }

        if (dnsServer is not null)
        {
            env["Gateway__Discovery__Dns__Servers__0"] = dnsServer;
        }

        if (redis is not null)
        {
            env["Gateway__Redis__Configuration"] = redis.ConnectionString;
        }

        return env;
    }

    /// <summary>The gateway's view of the cluster's destinations: id -> condition ("ready", "draining", ...).</summary>
    public static async Task<Dictionary<string, string?>> DestinationsAsync(GatewayProcess gateway)
    {
        using var management = gateway.CreateManagementClient(Token);
        using var doc = JsonDocument.Parse(await management.GetStringAsync("/admin/clusters"));
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var cluster in doc.RootElement.GetProperty("clusters").EnumerateArray())
        {
            if (cluster.GetProperty("id").GetString() != Cluster)
            {
                continue;
            }

            foreach (var destination in cluster.GetProperty("destinations").EnumerateArray())
            {
                result[destination.GetProperty("id").GetString()!] =
                    destination.TryGetProperty("condition", out var condition) ? condition.GetString() : null;
            }
        }

        return result;
    }

    /// <summary>Waits until the gateway's destinations are exactly <paramref name="expected"/> (id -> condition).</summary>
    public static Task WaitForDestinationsAsync(GatewayProcess gateway, params (string Id, string Condition)[] expected)
    {
        var want = string.Join(", ", expected.OrderBy(e => e.Id, StringComparer.Ordinal).Select(e => $"{e.Id}={e.Condition}"));
        var seen = "-";
        return Wait.UntilAsync(
            async () =>
            {
                var destinations = await DestinationsAsync(gateway);
                seen = string.Join(", ", destinations.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
                return seen == want;
            },
            Deadline,
            () => $"destinations {want} (last seen: {seen})\n{gateway.Output}");
    }

    /// <summary>A counter or gauge from the gateway's /metrics, summed over the series whose labels contain <paramref name="labels"/>.</summary>
    public static async Task<double> MetricAsync(GatewayProcess gateway, string name, string labels = "")
    {
        using var management = gateway.CreateManagementClient();
        var text = await management.GetStringAsync("/metrics");
        var sum = 0.0;
        foreach (Match match in Regex.Matches(text, $@"^{Regex.Escape(name)}\{{(?<labels>[^}}]*)\}} (?<value>\S+)", RegexOptions.Multiline))
        {
            if (match.Groups["labels"].Value.Contains(labels, StringComparison.Ordinal))
            {
                sum += double.Parse(match.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    /// <summary>How many of <paramref name="count"/> requests, sent by <paramref name="parallel"/> workers, each pod served.</summary>
    public static async Task<Dictionary<string, int>> SpreadAsync(HttpClient client, int count, int parallel = 8)
    {
        var served = new Dictionary<string, int>(StringComparer.Ordinal);
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= count)
            {
                using var response = await client.GetAsync("/spread");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var pod = response.Headers.GetValues("X-Upstream").First();
                lock (served)
                {
                    served[pod] = served.GetValueOrDefault(pod) + 1;
                }
            }
        }));
        return served;
    }
}
