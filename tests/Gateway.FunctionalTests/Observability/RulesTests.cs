using System.Diagnostics;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.TestSupport;

namespace Gateway.FunctionalTests.Observability;

public sealed class RulesTests
{
    private static string RulesDirectory => Path.Combine(TestPaths.RepoRoot, "deploy", "prometheus");

    [Fact]
    public async Task PromtoolCheckRules_AcceptsTheShippedRules()
    {
        var (exitCode, output) = await PromtoolAsync("check", "rules", "gateway-rules.yml");

        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output);
    }

    [Fact]
    public async Task PromtoolTestRules_High5xxRatioAlert_FiresOnSyntheticSeries()
    {
        var testFile = await File.ReadAllTextAsync(Path.Combine(RulesDirectory, "gateway-rules.test.yml"));
        // The unit tests must actually expect the 5xx alert to fire (not only to stay quiet).
        Assert.Matches(@"alertname: GatewayHigh5xxRatio\s+eval_time: 10m\s+exp_alerts:\s+- exp_labels:", testFile);

        var (exitCode, output) = await PromtoolAsync("test", "rules", "gateway-rules.test.yml");

        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output);
    }

    [Fact]
    public async Task PromtoolTestRules_RateLimitWithoutRedisAlert_FiresOnSyntheticSeries()
    {
        var testFile = await File.ReadAllTextAsync(Path.Combine(RulesDirectory, "gateway-rules.test.yml"));
        // Expected to fire for a long outage (10m) and not before 5 minutes of it (6m).
        Assert.Matches(@"alertname: GatewayRateLimitWithoutRedis\s+eval_time: 6m\s+exp_alerts: \[\]", testFile);
        Assert.Matches(@"alertname: GatewayRateLimitWithoutRedis\s+eval_time: 10m\s+exp_alerts:\s+- exp_labels:", testFile);

        var (exitCode, output) = await PromtoolAsync("test", "rules", "gateway-rules.test.yml");

        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output);
    }

    [Fact]
    public async Task PromtoolTestRules_DiscoveryAlerts_FireOnSyntheticSeries_AndPointAtTheAdminApi()
    {
        var testFile = await File.ReadAllTextAsync(Path.Combine(RulesDirectory, "gateway-rules.test.yml"));
        // Failing: quiet for a failure younger than 5 minutes (4m), firing for a long one and for one that never synced.
        Assert.Matches(@"alertname: GatewayDiscoveryFailing\s+eval_time: 4m\s+exp_alerts: \[\]", testFile);
        Assert.Matches(@"alertname: GatewayDiscoveryFailing\s+eval_time: 10m\s+exp_alerts:\s+- exp_labels:", testFile);
        Assert.Matches(@"alertname: GatewayDiscoveryNoReadyEndpoints\s+eval_time: 10m\s+exp_alerts:\s+- exp_labels:", testFile);

        // The on-call engineer is told where the cause is.
        var rules = await File.ReadAllTextAsync(Path.Combine(RulesDirectory, "gateway-rules.yml"));
        Assert.Contains("GET /admin/clusters", rules);
        Assert.Contains("lastError", rules);

        var (exitCode, output) = await PromtoolAsync("test", "rules", "gateway-rules.test.yml");

        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output);
    }

    [Fact]
    public async Task PromtoolTestRules_RetryBudgetEjectionAndCircuitBreakerAlerts_FireOnSyntheticSeries()
    {
        var testFile = await File.ReadAllTextAsync(Path.Combine(RulesDirectory, "gateway-rules.test.yml"));
        // Each is expected to stay quiet before its condition has lasted (or been reached) and to fire after.
        foreach (var (alert, quiet, firing) in new[]
        {
            ("GatewayRetryBudgetExhausted", "4m", "6m"),
            ("GatewayDestinationEjectedRepeatedly", "8m", "11m"),
            ("GatewayCircuitOpen", "4m", "10m"),
        })
        {
            Assert.Matches($@"alertname: {alert}\s+eval_time: {quiet}\s+exp_alerts: \[\]", testFile);
            Assert.Matches($@"alertname: {alert}\s+eval_time: {firing}\s+exp_alerts:\s+- exp_labels:", testFile);
        }

        var (exitCode, output) = await PromtoolAsync("test", "rules", "gateway-rules.test.yml");

        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output);
    }

    [Fact]
    public async Task PromtoolTestRules_CertificateExpiresSoonAlert_FiresForACertificateExpiringIn7Days_NotFor30()
    {
        var testFile = await File.ReadAllTextAsync(Path.Combine(RulesDirectory, "gateway-rules.test.yml"));
        // 604800 s = 7 days after promtool's clock start; 2592000 s = 30 days (quiet: only the 7-day one is expected).
        Assert.Contains("gateway_tls_certificate_expiry_seconds{job=\"gateway\",instance=\"gw-0\",listener=\"Proxy\",name=\"default\"}'\n        values: '604800x20'", testFile);
        Assert.Matches(@"alertname: GatewayCertificateExpiresSoon\s+eval_time: 10m\s+exp_alerts:\s+- exp_labels:\s+severity: warning\s+job: gateway\s+instance: gw-0\s+listener: Proxy\s+name: default\s+exp_annotations:", testFile);

        var (exitCode, output) = await PromtoolAsync("test", "rules", "gateway-rules.test.yml");

        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output);
    }

    private static async Task<(int ExitCode, string Output)> PromtoolAsync(params string[] args)
    {
        var info = new ProcessStartInfo(PrometheusServer.Executable("promtool"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RulesDirectory,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
