// Renders deploy/k8s with the real `kubectl kustomize` and loads every object strictly typed, so a misspelled
// or misplaced field fails instead of being silently dropped as `kubectl apply` would do.
using System.Collections.Concurrent;
using System.Diagnostics;
using Gateway.TestSupport;
using k8s;
using k8s.Models;

namespace Gateway.FunctionalTests.Deploy;

public static class Manifests
{
    public static readonly string[] Overlays = ["dev", "prod"];

    public static string K8sRoot => Path.Combine(TestPaths.RepoRoot, "deploy", "k8s");

    /// <summary>Every kind the manifests may contain. Anything else is rejected: add it here with its typed model.</summary>
    public static readonly IReadOnlyDictionary<string, Type> Kinds = new Dictionary<string, Type>
    {
        ["v1/Namespace"] = typeof(V1Namespace),
        ["v1/ConfigMap"] = typeof(V1ConfigMap),
        ["v1/Service"] = typeof(V1Service),
        ["apps/v1/Deployment"] = typeof(V1Deployment),
        ["policy/v1/PodDisruptionBudget"] = typeof(V1PodDisruptionBudget),
        ["autoscaling/v2/HorizontalPodAutoscaler"] = typeof(V2HorizontalPodAutoscaler),
        ["networking.k8s.io/v1/NetworkPolicy"] = typeof(V1NetworkPolicy),
        ["v1/ServiceAccount"] = typeof(V1ServiceAccount),
        ["rbac.authorization.k8s.io/v1/Role"] = typeof(V1Role),
        ["rbac.authorization.k8s.io/v1/RoleBinding"] = typeof(V1RoleBinding),
        [ServiceMonitor.KubeApiVersion + "/" + ServiceMonitor.KubeKind] = typeof(ServiceMonitor),
    };

    private static readonly ConcurrentDictionary<string, Lazy<string>> Rendered = new();

    /// <summary>`kubectl kustomize` of an overlay, rendered once per test run.</summary>
    public static string RenderOverlay(string overlay) =>
        Rendered.GetOrAdd(overlay, name => new Lazy<string>(() => Render(Path.Combine(K8sRoot, "overlays", name)))).Value;

    public static RenderedObjects LoadOverlay(string overlay) => Load(RenderOverlay(overlay));

    /// <summary>
    /// The kubectl on PATH (tests/run.sh installs Debian's kubernetes-client when missing), or $KUBECTL. Only stdout
    /// is YAML; newer kustomize prints deprecation warnings for `bases`/`patchesStrategicMerge` on stderr.
    /// </summary>
    public static string Render(string kustomizationDirectory)
    {
        var kubectl = Environment.GetEnvironmentVariable("KUBECTL") is { Length: > 0 } custom ? custom : "kubectl";
        var info = new ProcessStartInfo(kubectl) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("kustomize");
        info.ArgumentList.Add(kustomizationDirectory);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"'{kubectl}' not found ({ex.Message}); tests/run.sh installs kubectl (Debian kubernetes-client).", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{kubectl} kustomize {kustomizationDirectory} did not finish in 120 s");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{kubectl} kustomize {kustomizationDirectory} failed ({process.ExitCode}):\n{stderr.Result}");
            }

            return stdout.Result;
        }
    }

    /// <summary>Strict typed load (unknown fields and unknown kinds throw) plus the checks a typed model cannot express.</summary>
    public static RenderedObjects Load(string yaml)
    {
        var objects = KubernetesYaml.LoadAllFromString(yaml, new Dictionary<string, Type>(Kinds), strict: true);
        var errors = new List<string>();
        foreach (var obj in objects)
        {
            ObjectChecks.Check(obj, errors);
        }

        ObjectChecks.CheckReferences(objects, errors);

        if (errors.Count > 0)
        {
            throw new ManifestException(string.Join('\n', errors));
        }

        return new RenderedObjects(objects);
    }
}

public sealed class ManifestException(string message) : Exception(message);

/// <summary>The objects of one rendered overlay, with lookups by kind and name.</summary>
public sealed class RenderedObjects(IReadOnlyList<object> objects)
{
    public IReadOnlyList<object> All { get; } = objects;

    public IEnumerable<T> OfKind<T>() => All.OfType<T>();

    public T Single<T>(string name) where T : IMetadata<V1ObjectMeta> =>
        All.OfType<T>().SingleOrDefault(o => o.Metadata.Name == name)
        ?? throw new InvalidOperationException($"no {typeof(T).Name} named '{name}' in the rendered manifests");

    public V1Deployment Gateway => Single<V1Deployment>("gateway");

    public V1Container GatewayContainer => Gateway.Spec.Template.Spec.Containers.Single(c => c.Name == "gateway");

    /// <summary>The namespace the overlay puts everything in (the gateway's own).</summary>
    public string Namespace => Gateway.Metadata.NamespaceProperty;

    /// <summary>The ServiceAccount the gateway's pods run as.</summary>
    public V1ServiceAccount GatewayServiceAccount => Single<V1ServiceAccount>(Gateway.Spec.Template.Spec.ServiceAccountName ?? "default");

    /// <summary>RoleBindings in <paramref name="ns"/> with the gateway's ServiceAccount as a subject.</summary>
    public IEnumerable<V1RoleBinding> BindingsOfTheGateway(string ns) =>
        OfKind<V1RoleBinding>().Where(b => b.Metadata.NamespaceProperty == ns && (b.Subjects ?? []).Any(s =>
            s.Kind == "ServiceAccount" && s.Name == GatewayServiceAccount.Metadata.Name
            && (s.NamespaceProperty ?? b.Metadata.NamespaceProperty) == Namespace));

    /// <summary>The rules the gateway's ServiceAccount holds in <paramref name="ns"/> through Roles of these manifests.</summary>
    public IEnumerable<V1PolicyRule> GatewayRules(string ns) =>
        BindingsOfTheGateway(ns)
            .Select(b => OfKind<V1Role>().SingleOrDefault(r => b.RoleRef.Kind == "Role" && r.Metadata.Name == b.RoleRef.Name && r.Metadata.NamespaceProperty == ns))
            .Where(r => r is not null)
            .SelectMany(r => r!.Rules ?? []);
}
