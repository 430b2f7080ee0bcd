using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.TestSupport;

namespace Gateway.FunctionalTests.Hardening;

public sealed class ConfigReloadFuzzTests(ITestOutputHelper output)
{
    private const int Variants = 50;
    private const string Reloaded = "Configuration reloaded";
    private const string Rejected = "rejected; the last good configuration keeps serving";
    private const string Failed = "failed unexpectedly";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task FiftyMutatedConfigs_HotReloaded_NeverCrash_AndTheLastGoodConfigKeepsServing()
    {
        await using var upstream = await UpstreamServer.StartAsync("good");
        var baseConfig = ConfigFuzzer.BaseConfig();
        JsonPath.Set(baseConfig, "ReverseProxy:Clusters:demo:Destinations", new JsonObject { ["demo-1"] = new JsonObject { ["Address"] = upstream.Url } });
        var baseText = baseConfig.ToJson();
        await using var gateway = await GatewayProcess.StartAsync(baseText);
        using var client = gateway.CreateProxyClient();
        Assert.Equal("good", await client.GetStringAsync("/before"));

        var current = baseText;
        int rejected = 0, applied = 0;
        for (var i = 0; i < Variants; i++)
        {
            var (text, description) = ConfigFuzzer.Variant(baseConfig, i);
            if (text == current)
            {
                continue;
            }

            int reloads = gateway.CountLog(Reloaded), rejections = gateway.CountLog(Rejected);
            await gateway.WriteConfigAsync(text);
            current = text;
            await Wait.UntilAsync(() => gateway.CountLog(Reloaded) > reloads || gateway.CountLog(Rejected) > rejections || gateway.CountLog(Failed) > 0 || gateway.HasExited,
                Timeout, $"a reload decision for variant {i} ({description})");
            Assert.False(gateway.HasExited, $"variant {i} ({description}) stopped the gateway:\n{gateway.Output}");
            Assert.True(gateway.CountLog(Failed) == 0, $"variant {i} ({description}) failed the reload unexpectedly:\n{gateway.Output}");

            if (gateway.CountLog(Rejected) > rejections)
            {
                rejected++;
                using var response = await client.GetAsync($"/after-rejected-{i}");
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"variant {i} ({description}) was rejected but the old config stopped serving: {(int)response.StatusCode}");
                continue;
            }

            // A valid mutation applied: put the base back so the next variant starts from a known good config.
            applied++;
            reloads = gateway.CountLog(Reloaded);
            await gateway.WriteConfigAsync(baseText);
            current = baseText;
            await gateway.WaitForLogAsync(Reloaded, Timeout, reloads + 1);
            Assert.Equal("good", await client.GetStringAsync($"/after-restore-{i}"));
        }

        output.WriteLine($"{Variants} variants hot-reloaded: {rejected} rejected, {applied} applied and restored");
        Assert.True(rejected >= Variants / 2, $"only {rejected} rejections");
        Assert.Equal("good", await client.GetStringAsync("/end"));
    }
}
