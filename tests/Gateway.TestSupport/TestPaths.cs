namespace Gateway.TestSupport;

public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string BuildConfiguration =>
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    /// <summary>The gateway as built by this same build (the functional test project orders the build).</summary>
    public static string GatewayDll => Path.Combine(RepoRoot, "src", "Gateway", "bin", BuildConfiguration, "net10.0", "Gateway.dll");

    /// <summary>
    /// The native (Native AOT) gateway executable to run instead of <see cref="GatewayDll"/>, from
    /// <c>GATEWAY_TEST_EXECUTABLE</c> (tests/run.sh sets it for the suite's AOT pass); null runs the JIT build.
    /// </summary>
    public static string? GatewayExecutable =>
        Environment.GetEnvironmentVariable("GATEWAY_TEST_EXECUTABLE") is { Length: > 0 } path ? Path.GetFullPath(path) : null;

    /// <summary>Starts the gateway under test: <c>dotnet Gateway.dll</c>, or the native executable; arguments follow.</summary>
    public static System.Diagnostics.ProcessStartInfo GatewayStartInfo()
    {
        var native = GatewayExecutable;
        var info = new System.Diagnostics.ProcessStartInfo(native ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (native is null)
        {
            info.ArgumentList.Add(GatewayDll);
        }

        return info;
    }

    /// <summary>The folder of the build under test (appsettings.json, the default config lookup).</summary>
    public static string GatewayDirectory => Path.GetDirectoryName(GatewayExecutable ?? GatewayDll)!;

    /// <summary>The shipped default config: what `dotnet run`, the image and `docker run` use.</summary>
    public static string ShippedConfig => Path.Combine(RepoRoot, "config", "gateway.json");

    /// <summary>
    /// What the kustomize base deploys (the ConfigMap's gateway.json, config/kustomization.yaml): the shipped config plus
    /// the `example` route and cluster, discovered from Kubernetes.
    /// </summary>
    public static string DeployedConfig => Path.Combine(RepoRoot, "config", "kubernetes.json");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gateway.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Gateway.sln not found above " + AppContext.BaseDirectory);
    }
}
