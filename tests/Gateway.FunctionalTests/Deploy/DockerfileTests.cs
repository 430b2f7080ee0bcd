using Gateway.TestSupport;

namespace Gateway.FunctionalTests.Deploy;

/// <summary>The Dockerfile builds and runs the same project the tests build and run (read, not built: no engine here).</summary>
public sealed class DockerfileTests
{
    private readonly Dockerfile _dockerfile = Dockerfile.Load();

    [Fact]
    public void Dockerfile_CopiesOnlyPathsThatExist_AndThatDockerignoreLetsThrough()
    {
        var ignore = DockerIgnore.Load(Path.Combine(TestPaths.RepoRoot, ".dockerignore"));
        var copies = _dockerfile.Instructions.Where(i => i.Keyword is "COPY" or "ADD").Select(i => i.Parse()).Where(c => !c.Flags.ContainsKey("from")).ToList();
        Assert.NotEmpty(copies);
        foreach (var (_, words) in copies)
        {
            foreach (var source in words.Take(words.Count - 1))
            {
                var full = Path.Combine(TestPaths.RepoRoot, source);
                Assert.True(File.Exists(full) || Directory.Exists(full), $"Dockerfile COPYs '{source}', which does not exist in the repo");
                Assert.False(ignore.IsExcluded(source), $"Dockerfile COPYs '{source}', but .dockerignore excludes it from the build context");
            }
        }

        // Local build output must never reach the image build (it would clash with the container's restore).
        Assert.True(ignore.IsExcluded("src/Gateway/bin/Release/net10.0/Gateway.dll"));
        Assert.True(ignore.IsExcluded("src/Gateway/obj/project.assets.json"));
        Assert.False(ignore.IsExcluded("src/Gateway/Program.cs"));
    }

    [Fact]
    public void Dockerfile_RestoresAndPublishesTheProjectTheTestsRun()
    {
        var runs = _dockerfile.Instructions.Where(i => i.Keyword == "RUN").Select(i => i.Parse().Words).ToList();
        var publish = Assert.Single(runs, w => w.Contains("publish"));
        Assert.Equal(AppFacts.ProjectPath, Assert.Single(publish, w => w.EndsWith(".csproj", StringComparison.Ordinal)));
        Assert.Equal("Release", publish[publish.ToList().IndexOf("-c") + 1]);
        var restore = Assert.Single(runs, w => w.Contains("restore"));
        Assert.Equal(AppFacts.ProjectPath, Assert.Single(restore, w => w.EndsWith(".csproj", StringComparison.Ordinal)));

        // The image ships the Native AOT build, which the functional tests run (tests/run.sh publishes it the same way).
        Assert.Contains("-p:PublishAot=true", publish);
        var runScript = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "run.sh"));
        Assert.Contains($"dotnet publish {AppFacts.ProjectPath} -c Release -p:PublishAot=true", runScript, StringComparison.Ordinal);
        Assert.Contains("GATEWAY_TEST_EXECUTABLE", runScript, StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerfile_EntrypointRunsTheProjectsAssembly_FromThePublishOutput()
    {
        var publish = _dockerfile.Instructions.Where(i => i.Keyword == "RUN").Select(i => i.Parse().Words.ToList()).Single(w => w.Contains("publish"));
        var output = publish[publish.IndexOf("-o") + 1];
        var workdir = _dockerfile.Final("WORKDIR").Last().Arguments;
        var copy = _dockerfile.Final("COPY").Select(c => c.Parse()).Single(c => c.Flags.ContainsKey("from"));
        Assert.Equal(output, copy.Words[0].TrimEnd('/'));
        Assert.Contains(copy.Words[1].TrimEnd('/'), new[] { ".", workdir });

        // The native executable, by its absolute path in WORKDIR (no `dotnet`: the runtime-deps image has none).
        var entrypoint = _dockerfile.Final("ENTRYPOINT").Single().Parse().Words;
        Assert.Equal([$"{workdir.TrimEnd('/')}/{AppFacts.AssemblyName}"], entrypoint);
    }

    [Fact]
    public void Dockerfile_FinalImage_IsChiseledAndNonRoot_AndExposesBothKestrelPorts()
    {
        var tfmVersion = AppFacts.TargetFramework.Replace("net", string.Empty);
        var froms = _dockerfile.Instructions.Where(i => i.Keyword == "FROM").Select(i => i.Parse().Words[0]).ToList();
        Assert.StartsWith($"mcr.microsoft.com/dotnet/sdk:{tfmVersion}", froms[0]);
        Assert.Equal($"mcr.microsoft.com/dotnet/runtime-deps:{tfmVersion}-noble-chiseled", froms[^1]);

        var user = _dockerfile.Final("USER").Last().Arguments;
        Assert.True(long.TryParse(user, out var uid) && uid > 0, $"USER '{user}' must be a numeric non-root UID (runAsNonRoot can only verify numbers)");
        Assert.Equal(uid, Manifests.LoadOverlay("prod").Gateway.Spec.Template.Spec.SecurityContext.RunAsUser);

        var exposed = _dockerfile.Final("EXPOSE").SelectMany(e => e.Parse().Words).Select(int.Parse).Order().ToArray();
        Assert.Equal(new[] { AppFacts.KestrelPort("Proxy"), AppFacts.KestrelPort("Management") }.Order().ToArray(), exposed);
    }

    [Fact]
    public void Dockerfile_SetsTheDocumentedContainerRuntimeSettings()
    {
        var env = _dockerfile.FinalEnvironment();
        // The benchmark chose the project's Workstation, non-concurrent GC; the image must not override it.
        Assert.DoesNotContain("DOTNET_gcServer", env.Keys);
        Assert.DoesNotContain("DOTNET_gcConcurrent", env.Keys);
        Assert.Equal("true", env["DOTNET_RUNNING_IN_CONTAINER"]);
        Assert.Equal(string.Empty, env["ASPNETCORE_HTTP_PORTS"]);
        Assert.DoesNotContain("ASPNETCORE_ENVIRONMENT", env.Keys);

        // The image's runtime settings are explained in docs/deploy.md ("Image"), the page the README links for deploy.
        var deployDoc = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "deploy.md"));
        foreach (var key in env.Keys)
        {
            Assert.True(deployDoc.Contains(key, StringComparison.Ordinal), $"docs/deploy.md does not explain {key}");
        }
    }
}
