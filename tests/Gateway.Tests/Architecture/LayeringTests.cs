namespace Gateway.Tests.Architecture;

/// <summary>The layering docs/architecture.md states: ground floor, shared services, capabilities, one composition place.</summary>
public sealed class LayeringTests
{
    /// <summary>Imports nothing from Gateway.*: the primitives and seams every capability builds on.</summary>
    private const string GroundFloor = "Foundation";

    /// <summary>Services several capabilities use; they import only the ground floor.</summary>
    private static readonly string[] SharedServices = ["SharedState", "Pooling"];

    private static FolderGraph Source() => FolderGraph.Read(Path.Combine(RepositoryRoot(), "src", "Gateway"));

    [Fact]
    public void NoFolder_ImportsAFolderThatImportsItBack()
    {
        var cycles = Source().Cycles();

        Assert.True(cycles.Count == 0, "Import cycles between folders of src/Gateway:\n" + string.Join("\n", cycles));
    }

    [Fact]
    public void TheGroundFloor_ImportsNoOtherFolder()
    {
        var graph = Source();

        var imports = graph.Imports(GroundFloor).Select(to => graph.Describe(GroundFloor, to)).ToList();

        Assert.True(imports.Count == 0, $"{GroundFloor}/ must import nothing from Gateway.*:\n" + string.Join("\n", imports));
    }

    [Fact]
    public void Capabilities_ImportOnlyTheGroundFloorAndSharedServices_AndSharedServicesOnlyTheGroundFloor()
    {
        var graph = Source();
        var problems = new List<string>();
        foreach (var folder in graph.Folders)
        {
            var allowed = folder == GroundFloor ? [] : SharedServices.Contains(folder) ? [GroundFloor] : SharedServices.Append(GroundFloor).ToArray();
            foreach (var to in graph.Imports(folder))
            {
                if (!allowed.Contains(to))
                {
                    problems.Add(graph.Describe(folder, to));
                }
            }
        }

        Assert.True(problems.Count == 0, "A capability reached into another (use a seam in Foundation/, or compose in Program.cs / GatewayPipeline.cs):\n" + string.Join("\n", problems));
    }

    [Fact]
    public void EveryFile_IsInTheNamespaceOfItsFolder()
    {
        var errors = Source().NamespaceErrors;

        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public void ACycle_IsFound_DirectOrThroughOthers()
    {
        var graph = new FolderGraph(["A", "B", "C", "D"]);
        graph.Add("A", "B", "A/x.cs");
        graph.Add("B", "C", "B/y.cs");
        graph.Add("C", "A", "C/z.cs");
        graph.Add("D", "A", "D/w.cs");

        var cycles = graph.Cycles();

        Assert.Equal(["A -> B -> C -> A", "B -> C -> A -> B", "C -> A -> B -> C"], cycles);
    }

    [Fact]
    public void References_InCommentsAndStrings_AreNotImports_ButQualifiedNamesAre()
    {
        var root = Directory.CreateTempSubdirectory("layering-");
        try
        {
            Directory.CreateDirectory(Path.Combine(root.FullName, "Alpha"));
            Directory.CreateDirectory(Path.Combine(root.FullName, "Beta"));
            Directory.CreateDirectory(Path.Combine(root.FullName, "Gamma"));
            File.WriteAllText(Path.Combine(root.FullName, "Alpha", "A.cs"), """
                // Gateway.Beta is mentioned here only
                namespace Gateway.Alpha;
                internal static class A { public const string S = "Gateway.Beta.Thing"; public static int G => Gateway.Gamma.C.Value; }
                """);
            File.WriteAllText(Path.Combine(root.FullName, "Beta", "B.cs"), "namespace Gateway.Wrong;\n");
            File.WriteAllText(Path.Combine(root.FullName, "Gamma", "C.cs"), "using Gateway.Alpha;\nnamespace Gateway.Gamma;\n");

            var graph = FolderGraph.Read(root.FullName);

            Assert.Equal(["Gamma"], graph.Imports("Alpha"));
            Assert.Equal(["Alpha -> Gamma -> Alpha", "Gamma -> Alpha -> Gamma"], graph.Cycles());
            Assert.Equal(@"Beta/B.cs: namespace 'Gateway.Wrong' is not 'Gateway.Beta'", Assert.Single(graph.NamespaceErrors));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    internal static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Gateway.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Gateway.sln above {AppContext.BaseDirectory}");
    }
}
