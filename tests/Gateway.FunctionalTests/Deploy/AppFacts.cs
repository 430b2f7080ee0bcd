// What the app itself says (its project, appsettings.json, shipped config), for comparison with the deploy files.
using System.Globalization;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Gateway.TestSupport;

namespace Gateway.FunctionalTests.Deploy;

public static class AppFacts
{
    public const string ProjectPath = "src/Gateway/Gateway.csproj";

    public static string AssemblyName
    {
        get
        {
            var project = XDocument.Load(Path.Combine(TestPaths.RepoRoot, ProjectPath));
            return project.Descendants("AssemblyName").LastOrDefault()?.Value ?? Path.GetFileNameWithoutExtension(ProjectPath);
        }
    }

    public static string TargetFramework =>
        XDocument.Load(Path.Combine(TestPaths.RepoRoot, "Directory.Build.props")).Descendants("TargetFramework").Single().Value;

    /// <summary>Port of a named Kestrel endpoint in src/Gateway/appsettings.json (Proxy, Management).</summary>
    public static int KestrelPort(string endpoint)
    {
        var settings = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "src", "Gateway", "appsettings.json")))!;
        return new Uri(settings["Kestrel"]!["Endpoints"]![endpoint]!["Url"]!.GetValue<string>()).Port;
    }

    /// <summary>A <c>Gateway:Shutdown</c> TimeSpan from the shipped config/gateway.json.</summary>
    public static TimeSpan ShippedShutdownSetting(string key)
    {
        var config = JsonNode.Parse(File.ReadAllText(TestPaths.ShippedConfig))!;
        var value = config["Gateway"]?["Shutdown"]?[key]?.GetValue<string>();
        Assert.False(value is null, $"config/gateway.json has no Gateway:Shutdown:{key}");
        return TimeSpan.Parse(value!, CultureInfo.InvariantCulture);
    }
}
