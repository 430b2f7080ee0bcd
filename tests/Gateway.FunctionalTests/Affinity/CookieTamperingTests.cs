using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Affinity;

public sealed class CookieTamperingTests(ITestOutputHelper output)
{
    private static readonly string[] Backend = ["d1", "d2", "d3"];

    [Theory]
    [InlineData(null)]
    [InlineData("Return503Error")]
    public async Task FiftyMutatedCookies_AllGet2xxFromAValidDestination_AndAFreshCookie(string? failurePolicy)
    {
        await using var d1 = await UpstreamServer.StartAsync("d1");
        await using var d2 = await UpstreamServer.StartAsync("d2");
        await using var d3 = await UpstreamServer.StartAsync("d3");
        await using var o1 = await UpstreamServer.StartAsync("o1");
        var config = AffinityKit.Config(d1, d2, d3);
        // A second cluster with its own affinity cookie, on /other.
        config.Set("ReverseProxy:Routes:other", JsonNode.Parse("""{ "ClusterId": "other", "Match": { "Path": "/other/{**rest}" } }"""));
        config.Set("ReverseProxy:Clusters:other", JsonNode.Parse($$"""
            { "SessionAffinity": { "Enabled": true }, "Destinations": { "o1": { "Address": "{{o1.Url}}" } } }
            """));
        if (failurePolicy is not null)
        {
            config.Set("ReverseProxy:Clusters:backend:SessionAffinity:FailurePolicy", failurePolicy);
        }

        await using var gateway = await AffinityKit.StartReplicaAsync(config, AffinityKit.Env());
        using var client = gateway.CreateProxyClient();
        var valid = (await AffinityKit.SendAsync(client, null)).SetCookieValue!;
        var otherCluster = (await AffinityKit.SendAsync(client, null, "/other/x", ".Gateway.Affinity.other")).SetCookieValue!;
        Assert.NotNull(valid);
        Assert.NotNull(otherCluster);

        var mutations = Mutate(valid, otherCluster);
        Assert.Equal(50, mutations.Count);
        var clearTextLanded = new HashSet<string>();
        foreach (var (kind, cookie) in mutations)
        {
            var response = await AffinityKit.SendAsync(client, cookie);
            if (failurePolicy == "Return503Error" && kind == "other cluster's cookie")
            {
                // A genuine gateway cookie naming a destination this cluster lacks is exactly "pinned destination removed
                // from config", which Return503Error answers with 503 by design (README). Everything unreadable is re-pinned.
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.Status);
                continue;
            }

            Assert.True(response.Status == HttpStatusCode.OK, $"{kind}: status {(int)response.Status}");
            Assert.Contains(response.Upstream, Backend);
            Assert.True(response.SetCookieValue is not null, $"{kind}: no fresh cookie");
            Assert.NotEqual(cookie, response.SetCookieValue);
            if (kind == "clear-text d1")
            {
                clearTextLanded.Add(response.Upstream!);
            }
        }

        // A cookie naming "d1" in clear text is no affinity: those requests were spread like any new session.
        output.WriteLine("clear-text 'd1' cookies landed on: " + string.Join(",", clearTextLanded));
        Assert.True(clearTextLanded.Count > 1, "clear-text destination cookies must not pin");

        // The untouched cookie is still honoured (the mutations did not break anything).
        var honoured = await AffinityKit.SendAsync(client, valid);
        Assert.Null(honoured.SetCookieValue);
    }

    private static List<(string Kind, string Cookie)> Mutate(string valid, string otherCluster)
    {
        var decodedValid = Uri.UnescapeDataString(valid);
        var bytes = Convert.FromBase64String(Pad(decodedValid));
        var list = new List<(string, string)>();
        var random = new Random(5000);

        for (var i = 0; i < 15; i++)
        {
            var flipped = (byte[])bytes.Clone();
            var at = i * (flipped.Length - 1) / 14;
            flipped[at] ^= (byte)(1 << (i % 8));
            list.Add(("bit flip", Uri.EscapeDataString(Convert.ToBase64String(flipped).TrimEnd('='))));
        }

        foreach (var keep in new[] { 1, 4, 10, 20, 40, decodedValid.Length / 2, decodedValid.Length - 10, decodedValid.Length - 3, decodedValid.Length - 2, decodedValid.Length - 1 })
        {
            list.Add(("truncation", Uri.EscapeDataString(decodedValid[..keep])));
        }

        for (var i = 0; i < 5; i++)
        {
            list.Add(("other cluster's cookie", otherCluster));
        }

        for (var i = 0; i < 10; i++)
        {
            var garbage = new byte[8 + (i * 13)];
            random.NextBytes(garbage);
            list.Add(("base64 garbage", Uri.EscapeDataString(Convert.ToBase64String(garbage))));
        }

        for (var i = 0; i < 6; i++)
        {
            list.Add(("clear-text d1", i % 2 == 0 ? "d1" : Convert.ToBase64String(Encoding.UTF8.GetBytes("d1")).TrimEnd('=')));
        }

        list.Add(("not base64", "!!!%25%25%25"));
        list.Add(("empty-ish", "%20"));
        list.Add(("huge", new string('A', 3000)));
        list.Add(("valid with suffix", valid + "AAAA"));
        return list;
    }

    private static string Pad(string text) => text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '=');
}
