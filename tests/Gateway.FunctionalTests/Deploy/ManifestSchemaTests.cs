using Gateway.TestSupport;
using k8s.Models;

namespace Gateway.FunctionalTests.Deploy;

/// <summary>Every overlay renders with kubectl kustomize and every object passes strict, typed, offline validation.</summary>
public sealed class ManifestSchemaTests
{
    public static TheoryData<string> Overlays => new(Manifests.Overlays);

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Overlay_Renders_AndEveryObjectMatchesItsKubernetesSchema(string overlay)
    {
        var objects = Manifests.LoadOverlay(overlay);

        var kinds = objects.All.Select(o => o.GetType()).ToHashSet();
        foreach (var expected in new[] { typeof(V1Deployment), typeof(V1Service), typeof(V1ConfigMap), typeof(V1PodDisruptionBudget),
                     typeof(V2HorizontalPodAutoscaler), typeof(ServiceMonitor), typeof(V1NetworkPolicy), typeof(V1Namespace),
                     typeof(V1ServiceAccount), typeof(V1Role), typeof(V1RoleBinding) })
        {
            Assert.Contains(expected, kinds);
        }

        var ns = objects.OfKind<V1Namespace>().Single().Metadata.Name;
        Assert.All(objects.All.OfType<k8s.Models.IMetadata<V1ObjectMeta>>().Where(o => o is not V1Namespace),
            o => Assert.Equal(ns, o.Metadata.NamespaceProperty));
    }

    [Fact]
    public void MisspelledField_InABaseManifest_FailsValidationOfTheRenderedOverlay()
    {
        using var copy = new ManifestCopy();
        copy.Replace("deploy/k8s/base/deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true");

        // kustomize itself passes the typo through (kubectl apply would silently drop the field) ...
        var yaml = Manifests.Render(copy.Overlay("prod"));
        Assert.Contains("readOnlyRootFileSystem", yaml);

        // ... strict typed loading does not.
        var error = Assert.ThrowsAny<Exception>(() => Manifests.Load(yaml));
        Assert.Contains("readOnlyRootFileSystem", error.ToString());
    }

    [Fact]
    public void MisplacedField_FailsValidation()
    {
        // A valid field name at the wrong level: terminationGracePeriodSeconds belongs to the pod, not the container.
        var yaml = Manifests.RenderOverlay("prod").Replace("        imagePullPolicy: IfNotPresent\n", "        imagePullPolicy: IfNotPresent\n        terminationGracePeriodSeconds: 45\n");
        Assert.ThrowsAny<Exception>(() => Manifests.Load(yaml));
    }

    [Theory]
    [InlineData("scrapeTimeout: 10s", "scrapeTimout: 10s", "scrapeTimout")]
    [InlineData("path: /metrics", "metricsPath: /metrics", "metricsPath")]
    [InlineData("scheme: http", "scheme: tcp", "scheme 'tcp'")]
    [InlineData("interval: 15s", "interval: 15 seconds", "interval '15 seconds'")]
    public void InvalidServiceMonitor_FailsValidation(string valid, string invalid, string reported)
    {
        var yaml = Manifests.RenderOverlay("prod");
        Assert.Contains(valid, yaml);

        var error = Assert.ThrowsAny<Exception>(() => Manifests.Load(yaml.Replace(valid, invalid)));
        Assert.Contains(reported, error.ToString());
    }

    [Fact]
    public void UnknownKind_FailsValidation()
    {
        var yaml = Manifests.RenderOverlay("prod").Replace("kind: PodDisruptionBudget", "kind: PodDisruptionBuget");
        Assert.ThrowsAny<Exception>(() => Manifests.Load(yaml));
    }

    [Fact]
    public void SelectorTypo_ThatSelectsNoPods_FailsValidation()
    {
        using var copy = new ManifestCopy();
        copy.Replace("deploy/k8s/base/pdb.yaml", "app.kubernetes.io/name: gateway", "app.kubernetes.io/name: gateway-typo");

        var error = Assert.Throws<ManifestException>(() => Manifests.Load(Manifests.Render(copy.Overlay("prod"))));
        Assert.Contains("PodDisruptionBudget 'gateway': selector selects no Deployment's pods", error.Message);
    }

    [Fact]
    public void ServicePortNamingNoContainerPort_FailsValidation()
    {
        using var copy = new ManifestCopy();
        copy.Replace("deploy/k8s/base/service.yaml", "targetPort: management", "targetPort: metrics");

        var error = Assert.Throws<ManifestException>(() => Manifests.Load(Manifests.Render(copy.Overlay("prod"))));
        Assert.Contains("targetPort 'metrics' is not a port of the selected pods", error.Message);
    }

    [Fact]
    public void ServiceAccountTypo_InTheDeployment_FailsValidation()
    {
        using var copy = new ManifestCopy();
        copy.Replace("deploy/k8s/base/deployment.yaml", "serviceAccountName: gateway", "serviceAccountName: gateway-sa");

        var error = Assert.Throws<ManifestException>(() => Manifests.Load(Manifests.Render(copy.Overlay("prod"))));
        Assert.Contains("Deployment 'gateway': serviceAccountName 'gateway-sa' names no ServiceAccount in the manifests", error.Message);
    }

    [Theory]
    [InlineData("  kind: Role\n  name: gateway-discovery", "  kind: Role\n  name: gateway-discover", "roleRef names Role 'gateway-discover', which is not in the manifests")]
    [InlineData("- kind: ServiceAccount\n  name: gateway", "- kind: ServiceAccount\n  name: gateway\n  namespace: kube-system", "subject ServiceAccount 'kube-system/gateway' is not in the manifests")]
    public void RoleBinding_ToAMissingRoleOrAccount_FailsValidation(string valid, string invalid, string reported)
    {
        using var copy = new ManifestCopy();
        copy.Replace("deploy/k8s/base/rbac.yaml", valid, invalid);

        var error = Assert.Throws<ManifestException>(() => Manifests.Load(Manifests.Render(copy.Overlay("prod"))));
        Assert.Contains(reported, error.Message);
    }

    /// <summary>deploy/k8s and config/ copied to a temp dir with the same layout, to render mutated manifests.</summary>
    private sealed class ManifestCopy : IDisposable
    {
        private readonly string _root = Directory.CreateTempSubdirectory("gateway-manifests-").FullName;

        public ManifestCopy()
        {
            CopyTree(Path.Combine(TestPaths.RepoRoot, "deploy", "k8s"), Path.Combine(_root, "deploy", "k8s"));
            CopyTree(Path.Combine(TestPaths.RepoRoot, "config"), Path.Combine(_root, "config"));
        }

        public string Overlay(string name) => Path.Combine(_root, "deploy", "k8s", "overlays", name);

        public void Replace(string relativePath, string from, string to)
        {
            var path = Path.Combine(_root, relativePath);
            var text = File.ReadAllText(path);
            Assert.Contains(from, text);
            File.WriteAllText(path, text.Replace(from, to));
        }

        public void Dispose() => Directory.Delete(_root, recursive: true);

        private static void CopyTree(string from, string to)
        {
            Directory.CreateDirectory(to);
            foreach (var file in Directory.GetFiles(from))
            {
                File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
            }

            foreach (var dir in Directory.GetDirectories(from))
            {
                CopyTree(dir, Path.Combine(to, Path.GetFileName(dir)));
            }
        }
    }
}
