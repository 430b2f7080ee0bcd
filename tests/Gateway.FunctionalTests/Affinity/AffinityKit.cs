using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Affinity;

/// <summary>What one proxied request saw: status, serving upstream, and the affinity cookie the gateway set (if any).</summary>
public sealed record AffinityResponse(HttpStatusCode Status, string? Upstream, string? SetCookieValue, string? SetCookieHeader);

/// <summary>Shared helpers for the affinity tests: config with SessionAffinity, cookie plumbing, admin calls.</summary>
public static class AffinityKit
{
    public const string Token = "affinity-test-admin-token-0123456789";
    public const string CookieName = ".Gateway.Affinity.backend";

    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>One cluster "backend" with session affinity on (everything else from the gateway's defaults).</summary>
    public static JsonObject Config(params UpstreamServer[] upstreams) =>
        GatewayConfig.SingleCluster(upstreams).Set("ReverseProxy:Clusters:backend:SessionAffinity:Enabled", true);

    public static Dictionary<string, string> Env(RedisServer? redis = null, string? keyRingDirectory = null, bool token = true)
    {
        var env = new Dictionary<string, string>();
        if (token)
        {
            env["Gateway__Admin__Token"] = Token;
        }

        if (redis is not null)
        {
            env["Gateway__Redis__Configuration"] = redis.ConnectionString;
        }

        if (keyRingDirectory is not null)
        {
            env["Gateway__Affinity__KeyRingDirectory"] = keyRingDirectory;
        }

        return env;
    }

    public static async Task<GatewayProcess> StartReplicaAsync(JsonObject config, Dictionary<string, string> env)
    {
        var gateway = await GatewayProcess.StartAsync(config.ToJson(), env);
        await gateway.WaitForLogAsync("Affinity key ring ready", Deadline);
        return gateway;
    }

    public static async Task<AffinityResponse> SendAsync(HttpClient client, string? cookieValue, string path = "/", string cookieName = CookieName)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (cookieValue is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", $"{cookieName}={cookieValue}");
        }

        using var response = await client.SendAsync(request);
        await response.Content.ReadAsStringAsync();
        string? header = null;
        string? value = null;
        if (response.Headers.TryGetValues("Set-Cookie", out var cookies))
        {
            foreach (var cookie in cookies)
            {
                if (cookie.StartsWith(cookieName + "=", StringComparison.Ordinal))
                {
                    header = cookie;
                    var end = cookie.IndexOf(';');
                    value = cookie[(cookieName.Length + 1)..(end < 0 ? cookie.Length : end)];
                }
            }
        }

        var upstream = response.Headers.TryGetValues("X-Upstream", out var names) ? names.First() : null;
        return new AffinityResponse(response.StatusCode, upstream, value, header);
    }

    /// <summary>Opens sessions (requests without a cookie) until <paramref name="count"/> are pinned to <paramref name="destination"/>.</summary>
    public static Task<List<string>> PinSessionsAsync(string destination, int count, params HttpClient[] clients) =>
        PinSessionsAsync(destination, count, CookieName, clients);

    public static async Task<List<string>> PinSessionsAsync(string destination, int count, string cookieName, params HttpClient[] clients)
    {
        var cookies = new List<string>();
        for (var i = 0; cookies.Count < count; i++)
        {
            Assert.True(i < count * 20, $"only {cookies.Count} of {count} sessions landed on {destination} after {i} requests");
            var response = await SendAsync(clients[i % clients.Length], null, cookieName: cookieName);
            Assert.Equal(HttpStatusCode.OK, response.Status);
            Assert.NotNull(response.SetCookieValue);
            if (response.Upstream == destination)
            {
                cookies.Add(response.SetCookieValue!);
            }
        }

        return cookies;
    }

    public static async Task<HttpResponseMessage> AdminPostAsync(GatewayProcess gateway, string path, string? token = Token)
    {
        using var client = gateway.CreateManagementClient(token);
        return await client.PostAsync(path, content: null);
    }

    public static async Task DrainAsync(GatewayProcess gateway, string destination, bool drain = true)
    {
        using var response = await AdminPostAsync(gateway, $"/admin/clusters/backend/destinations/{destination}/{(drain ? "drain" : "undrain")}");
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The <c>draining</c> flag of one destination in <c>GET /admin/clusters</c>.</summary>
    public static async Task<bool> IsDrainingAsync(HttpClient management, string destination, string cluster = "backend")
    {
        using var doc = JsonDocument.Parse(await management.GetStringAsync("/admin/clusters"));
        return Destination(doc, cluster, destination).GetProperty("draining").GetBoolean();
    }

    public static async Task<string> ActiveHealthAsync(HttpClient management, string destination)
    {
        using var doc = JsonDocument.Parse(await management.GetStringAsync("/admin/clusters"));
        return Destination(doc, "backend", destination).GetProperty("health").GetProperty("active").GetString()!;
    }

    private static JsonElement Destination(JsonDocument doc, string cluster, string destination)
    {
        foreach (var c in doc.RootElement.GetProperty("clusters").EnumerateArray())
        {
            if (c.GetProperty("id").GetString() == cluster)
            {
                foreach (var d in c.GetProperty("destinations").EnumerateArray())
                {
                    if (d.GetProperty("id").GetString() == destination)
                    {
                        return d.Clone();
                    }
                }
            }
        }

        throw new InvalidOperationException($"{cluster}/{destination} not in /admin/clusters: {doc.RootElement}");
    }
}
