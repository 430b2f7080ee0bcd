using System.Text.RegularExpressions;
using Gateway.Configuration;
using Gateway.Shutdown;
using Gateway.Hardening;
using Gateway.Management;
using Gateway.Observability;
using Gateway.Pooling;
using Gateway.SharedState;
using Gateway.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Gateway.Tests.Hardening;

/// <summary>
/// 1,000 seeded mutations of config/gateway.json through the same validation a reload runs: none may throw, and every
/// rejection names a key path (or the file) so an operator can find the problem.
/// </summary>
public sealed partial class ConfigFuzzTests(ITestOutputHelper output)
{
    private const int Variants = 1000;

    [Fact]
    public async Task ThousandMutatedConfigs_NeverCrashValidation_AndEveryRejectionNamesAKeyPath()
    {
        var directory = Directory.CreateTempSubdirectory("gateway-fuzz-").FullName;
        var path = Path.Combine(directory, "gateway.json");
        var baseConfig = ConfigFuzzer.BaseConfig();
        await File.WriteAllTextAsync(path, baseConfig.ToJsonString());
        try
        {
            await using var app = BuildGateway(path);
            var store = app.Services.GetRequiredService<GatewayConfigStore>();
            Assert.Empty(store.ValidateCandidate(GatewayConfigFile.Read(path)));

            var rejected = 0;
            var problems = new List<string>();
            for (var i = 0; i < Variants; i++)
            {
                var (text, description) = ConfigFuzzer.Variant(baseConfig, i);
                await File.WriteAllTextAsync(path, text);
                IReadOnlyList<string> errors;
                try
                {
                    errors = store.ValidateCandidate(GatewayConfigFile.Read(path));
                }
                catch (Exception ex)
                {
                    problems.Add($"variant {i} ({description}) crashed validation: {ex}");
                    continue;
                }

                if (errors.Count > 0)
                {
                    rejected++;
                }

                foreach (var error in errors)
                {
                    if (!error.StartsWith(path + ":", StringComparison.Ordinal) && !KeyPath().IsMatch(error))
                    {
                        problems.Add($"variant {i} ({description}): message without a key path: {error}");
                    }
                }
            }

            output.WriteLine($"{Variants} variants (seed {ConfigFuzzer.Seed}): {rejected} rejected, {Variants - rejected} valid");
            Assert.True(problems.Count == 0, string.Join("\n", problems.Take(30)) + $"\n({problems.Count} problems)");
            Assert.InRange(rejected, Variants / 2, Variants);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Variants_AreReproducible()
    {
        var baseConfig = ConfigFuzzer.BaseConfig();
        Assert.Equal(ConfigFuzzer.Variant(baseConfig, 17), ConfigFuzzer.Variant(baseConfig, 17));
        Assert.NotEqual(ConfigFuzzer.Variant(baseConfig, 17).Text, ConfigFuzzer.Variant(baseConfig, 18).Text);
    }

    /// <summary>The gateway's own composition (Program.cs) minus the listeners: the same checks a reload runs.</summary>
    private static WebApplication BuildGateway(string configPath)
    {
        var builder = WebApplication.CreateBuilder(["--config", configPath]);
        builder.AddGatewayConfiguration(["--config", configPath]);
        builder.Services.AddGatewayFeatures(builder.Configuration);
        return builder.Build();
    }

    // "Section:Key[:Key...]: problem" where the first segment is a top-level section (a key may be empty: "").
    [GeneratedRegex(@"^(ReverseProxy|Gateway|Kestrel|Logging)(:[^:\s]*)*: ")]
    private static partial Regex KeyPath();
}
