using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.RateLimiting;

/// <summary>Config and request helpers shared by the rate-limiting tests.</summary>
internal static class RateLimitTestKit
{
    public static JsonObject Policy(string algorithm, int permitLimit, string partitionBy, string window = "00:01:00") => new()
    {
        ["Algorithm"] = algorithm,
        ["PermitLimit"] = permitLimit,
        ["Window"] = window,
        ["PartitionBy"] = partitionBy,
    };

    /// <summary>One catch-all route "all" with the given policy, plus Redis when a server is given.</summary>
    public static JsonObject SingleRoute(UpstreamServer upstream, string policyName, JsonObject policy, RedisServer? redis = null)
    {
        var config = GatewayConfig.SingleCluster(upstream)
            .Set("ReverseProxy:Routes:all:RateLimiterPolicy", policyName)
            .Set($"Gateway:RateLimiting:Policies:{policyName}", policy);
        if (redis is not null)
        {
            WithRedis(config, redis);
        }

        return config;
    }

    /// <summary>
    /// Redis for shared counters. OperationTimeout is raised from 50 ms to 1 s: this box is shared by many builds, and a
    /// check that is merely scheduled late would open the circuit and make exact counts flaky. Outage tests still see a
    /// bounded fallback: a killed Redis is noticed at once (socket closed), not by timeout.
    /// </summary>
    public static JsonObject WithRedis(JsonObject config, RedisServer redis) => config
        .Set("Gateway:Redis:Configuration", redis.ConnectionString)
        .Set("Gateway:Redis:OperationTimeout", "00:00:01");

    public static async Task<Replicas> StartReplicasAsync(string config, int count, bool waitForRedis)
    {
        var replicas = new Replicas(await Task.WhenAll(Enumerable.Range(0, count).Select(_ => GatewayProcess.StartAsync(config))));
        try
        {
            if (waitForRedis)
            {
                foreach (var replica in replicas)
                {
                    await replica.WaitForLogAsync("shared limits ready", TimeSpan.FromSeconds(30));
                }
            }

            return replicas;
        }
        catch
        {
            await replicas.DisposeAsync();
            throw;
        }
    }

    /// <summary>Gateway replicas that stop together (<c>await using</c>).</summary>
    public sealed class Replicas(GatewayProcess[] processes) : IReadOnlyList<GatewayProcess>, IAsyncDisposable
    {
        public GatewayProcess this[int index] => processes[index];

        public int Count => processes.Length;

        public IEnumerator<GatewayProcess> GetEnumerator() => ((IEnumerable<GatewayProcess>)processes).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public async ValueTask DisposeAsync()
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }
    }

    public sealed record Outcome(HttpStatusCode Status, string? RetryAfter, string Body);

    /// <summary>Sends <paramref name="count"/> GETs, round-robin over <paramref name="clients"/>, a few at a time.</summary>
    public static async Task<List<Outcome>> SendAsync(IReadOnlyList<HttpClient> clients, int count, string path = "/", string? apiKey = null, Func<int, string?>? forwardedFor = null, int parallelism = 6)
    {
        var outcomes = new Outcome[count];
        var next = -1;
        async Task Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                if (apiKey is not null)
                {
                    request.Headers.Add("X-Api-Key", apiKey);
                }

                if (forwardedFor?.Invoke(i) is { } xff)
                {
                    request.Headers.Add("X-Forwarded-For", xff);
                }

                using var response = await clients[i % clients.Count].SendAsync(request);
                outcomes[i] = new Outcome(
                    response.StatusCode,
                    response.Headers.TryGetValues("Retry-After", out var values) ? values.First() : null,
                    await response.Content.ReadAsStringAsync());
            }
        }

        await Task.WhenAll(Enumerable.Range(0, parallelism).Select(_ => Worker()));
        return outcomes.ToList();
    }

    public static int Admitted(this List<Outcome> outcomes) => outcomes.Count(o => o.Status == HttpStatusCode.OK);

    public static int Limited(this List<Outcome> outcomes) => outcomes.Count(o => o.Status == HttpStatusCode.TooManyRequests);

    public static int ServerErrors(this List<Outcome> outcomes) => outcomes.Count(o => (int)o.Status >= 500);

    /// <summary>Every 429 carries Retry-After in whole seconds and the JSON body naming the policy.</summary>
    public static void AssertRejectionsWellFormed(this List<Outcome> outcomes, string policy, int maxRetryAfterSeconds)
    {
        foreach (var rejected in outcomes.Where(o => o.Status == HttpStatusCode.TooManyRequests))
        {
            Assert.NotNull(rejected.RetryAfter);
            var seconds = int.Parse(rejected.RetryAfter!);
            Assert.InRange(seconds, 1, maxRetryAfterSeconds);
            using var body = JsonDocument.Parse(rejected.Body);
            Assert.Equal("rate_limited", body.RootElement.GetProperty("error").GetString());
            Assert.Equal(policy, body.RootElement.GetProperty("policy").GetString());
            Assert.Equal(seconds, body.RootElement.GetProperty("retryAfterSeconds").GetInt32());
        }
    }

    /// <summary>Sum of a Prometheus counter's samples whose labels contain every given label pair.</summary>
    public static async Task<double> ScrapeCounterAsync(GatewayProcess gateway, string metric, params string[] labels)
    {
        using var client = gateway.CreateManagementClient();
        var text = await client.GetStringAsync("/metrics");
        double sum = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(metric + "{", StringComparison.Ordinal) && labels.All(l => line.Contains(l, StringComparison.Ordinal)))
            {
                sum += double.Parse(line[(line.LastIndexOf('}') + 2)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }
}
