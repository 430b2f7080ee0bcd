using System.Globalization;
using Gateway.FunctionalTests.Discovery;
using Gateway.FunctionalTests.Infrastructure;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using YamlDotNet.RepresentationModel;

namespace Gateway.FunctionalTests.Deploy;

/// <summary>
/// Kubernetes discovery in the manifests: the gateway's pods run as their own ServiceAccount with a token, a Role grants
/// it exactly get/list/watch on EndpointSlices, a RoleBinding binds the two, and every cluster of the deployed config
/// (the ConfigMap's gateway.json, from config/kubernetes.json) that discovers a Service names one the manifests define, by a
/// port that Service has, in a namespace the gateway may watch;
/// and the dev ConfigMap, run by the real gateway against a fake API server holding the example Service's slice, serves
/// the example route from its pods.
/// </summary>
public sealed class DiscoveryManifestTests
{
    private const string DiscoveryGroup = "discovery.k8s.io";
    private const string EndpointSlices = "endpointslices";

    public static TheoryData<string> Overlays => new(Manifests.Overlays);

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Gateway_RunsAsItsOwnServiceAccount_WithAToken(string overlay)
    {
        var objects = Manifests.LoadOverlay(overlay);
        var pod = objects.Gateway.Spec.Template.Spec;

        Assert.Equal("gateway", pod.ServiceAccountName);
        var account = objects.GatewayServiceAccount;
        Assert.Equal(objects.Namespace, account.Metadata.NamespaceProperty);

        // Discovery reads the token and the namespace from the mounted service account, so the gateway's pod asks for
        // them; the account itself mounts nothing, so no other pod running as it gets a token by accident.
        Assert.True(pod.AutomountServiceAccountToken, "the gateway's pod needs its service-account token (Kubernetes discovery)");
        Assert.False(account.AutomountServiceAccountToken ?? true, "ServiceAccount gateway: automountServiceAccountToken should be false");
        Assert.DoesNotContain(objects.OfKind<V1Deployment>(), d => d.Metadata.Name != "gateway" && d.Spec.Template.Spec.ServiceAccountName == account.Metadata.Name);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void DiscoveryRole_GrantsExactlyGetListWatch_OnEndpointSlices(string overlay)
    {
        var objects = Manifests.LoadOverlay(overlay);

        // Everything the gateway's account holds through these manifests: one rule, read-only, one resource.
        var rule = Assert.Single(objects.GatewayRules(objects.Namespace));
        Assert.Equal([DiscoveryGroup], rule.ApiGroups);
        Assert.Equal([EndpointSlices], rule.Resources);
        Assert.Equal(["get", "list", "watch"], rule.Verbs.Order(StringComparer.Ordinal));
        Assert.True(rule.ResourceNames is null or { Count: 0 }, "resourceNames cannot narrow list/watch; the label selector does");

        // Nothing else binds the account (the manifests hold no ClusterRole or ClusterRoleBinding: the strict loader
        // rejects kinds it does not know).
        var binding = Assert.Single(objects.BindingsOfTheGateway(objects.Namespace));
        Assert.Equal("Role", binding.RoleRef.Kind);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void DiscoveryRoleBinding_BindsThatRole_ToTheGatewaysServiceAccount(string overlay)
    {
        var objects = Manifests.LoadOverlay(overlay);
        var role = Assert.Single(objects.OfKind<V1Role>(), r => (r.Rules ?? []).Any(rule => (rule.Resources ?? []).Contains(EndpointSlices)));
        var binding = Assert.Single(objects.OfKind<V1RoleBinding>(), b => b.RoleRef.Name == role.Metadata.Name);

        Assert.Equal("rbac.authorization.k8s.io", binding.RoleRef.ApiGroup);
        Assert.Equal("Role", binding.RoleRef.Kind);
        Assert.Equal(role.Metadata.NamespaceProperty, binding.Metadata.NamespaceProperty);
        Assert.Equal(objects.Namespace, binding.Metadata.NamespaceProperty);

        var subject = Assert.Single(binding.Subjects);
        Assert.Equal("ServiceAccount", subject.Kind);
        Assert.Equal(objects.Gateway.Spec.Template.Spec.ServiceAccountName, subject.Name);
        // Unset means the binding's own namespace (the API server's rule for a ServiceAccount subject); set, it must be that.
        Assert.True(string.IsNullOrEmpty(subject.NamespaceProperty) || subject.NamespaceProperty == objects.Namespace,
            $"subject namespace '{subject.NamespaceProperty}' is not the gateway's ({objects.Namespace})");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void EveryKubernetesDiscoveredCluster_InTheDeployedConfig_NamesAServiceOfTheManifests_ThatTheGatewayMayWatch(string overlay)
    {
        var objects = Manifests.LoadOverlay(overlay);
        var config = DeployedConfig(objects);
        var deleted = DeletedByOverlay(overlay);
        var clusters = config.GetSection("ReverseProxy:Clusters").GetChildren()
            .Where(c => c.GetSection("Discovery:Kubernetes").Exists())
            .ToList();
        Assert.NotEmpty(clusters); // the base deploys an example (cluster "example" of config/kubernetes.json)

        var problems = new List<string>();
        foreach (var cluster in clusters)
        {
            var kubernetes = cluster.GetSection("Discovery:Kubernetes");
            var name = kubernetes["Service"];
            var port = kubernetes["Port"];
            // In a pod, an unset Namespace is the gateway's own (read from its service account).
            var ns = kubernetes["Namespace"] ?? config["Gateway:Discovery:Kubernetes:Namespace"] ?? objects.Namespace;
            var id = $"cluster '{cluster.Key}' (Service {ns}/{name}, port {port})";

            if (!objects.GatewayRules(ns).Any(r => (r.ApiGroups ?? []).Contains(DiscoveryGroup) && (r.Resources ?? []).Contains(EndpointSlices)
                    && (r.Verbs ?? []).Contains("list") && (r.Verbs ?? []).Contains("watch")))
            {
                problems.Add($"{id}: no RoleBinding in namespace {ns} lets ServiceAccount {objects.Namespace}/gateway list and watch endpointslices (every attempt would be a 403)");
            }

            var service = objects.OfKind<V1Service>().SingleOrDefault(s => s.Metadata.Name == name && s.Metadata.NamespaceProperty == ns);
            if (service is null)
            {
                // Why not: the overlay deletes the example upstream on purpose (prod). The cluster then has an empty set
                // (its route answers 503) until the config names a Service of yours.
                if (!deleted.Contains(("Service", name!)))
                {
                    problems.Add($"{id}: the {overlay} manifests define no such Service (and the overlay does not delete it on purpose)");
                }

                continue;
            }

            // EndpointSlices carry the Service port's name, and the number the pods serve on (the resolved targetPort):
            // that is what a Port given as a number is matched against.
            var pods = objects.OfKind<V1Deployment>().Where(d => d.Metadata.NamespaceProperty == ns && service.Spec.Selector.All(l =>
                d.Spec.Template.Metadata.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
            var matches = int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                ? service.Spec.Ports.Any(p => pods.Count > 0 && pods.All(d => d.Spec.Template.Spec.Containers.Any(c => ObjectChecks.ContainerPort(p.TargetPort ?? (IntOrString)p.Port.ToString(CultureInfo.InvariantCulture), c) == number)))
                : service.Spec.Ports.Any(p => p.Name == port);
            if (!matches)
            {
                problems.Add($"{id}: Service {ns}/{name} has no port {(number > 0 ? "whose pods serve on" : "named")} '{port}' (ports: {string.Join(", ", service.Spec.Ports.Select(p => $"{p.Name}={p.Port}->{p.TargetPort}"))})");
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Prod_DeletesTheExampleUpstream_AndDevKeepsIt()
    {
        Assert.DoesNotContain(Manifests.LoadOverlay("prod").OfKind<V1Deployment>(), d => d.Metadata.Name == "example");
        Assert.DoesNotContain(Manifests.LoadOverlay("prod").OfKind<V1Service>(), s => s.Metadata.Name == "example");

        var dev = Manifests.LoadOverlay("dev");
        var service = dev.Single<V1Service>("example");
        Assert.Equal("None", service.Spec.ClusterIP); // headless: the gateway balances over the pods, kube-proxy does not
        Assert.True(dev.Single<V1Deployment>("example").Spec.Replicas > 1, "more than one pod, so the spread over pods shows");
    }

    [Fact]
    public async Task DevConfigMap_AndTheExampleService_AsTheEndpointSliceControllerPublishesIt_ServeTheExampleRoute_FromEveryPod()
    {
        var objects = Manifests.LoadOverlay("dev");
        var service = objects.Single<V1Service>("example");
        var port = Assert.Single(service.Spec.Ports);
        var pod = objects.Single<V1Deployment>("example").Spec.Template.Spec.Containers.Single();
        var volume = objects.Gateway.Spec.Template.Spec.Volumes.Single(v => v.ConfigMap is not null);
        var configJson = objects.Single<V1ConfigMap>(volume.ConfigMap.Name).Data["gateway.json"];

        // "Pods" on loopback addresses of their own, all on one free port: the slice carries that port under the Service
        // port's name, as the EndpointSlice controller writes it (the number being the pods' port, the resolved targetPort).
        await using var pods = await Pods.StartAsync("example-a", "example-b");
        Assert.NotNull(ObjectChecks.ContainerPort(port.TargetPort, pod));
        var directory = Directory.CreateTempSubdirectory("gateway-example-discovery-").FullName;
        await using var api = await FakeKubernetesApi.StartAsync();
        try
        {
            api.Upsert(EndpointSliceJson.Slice(
                "example-x7k2p",
                service.Metadata.Name,
                pods.All.Select(p => EndpointSliceJson.Ready(p.Value.Address.ToString(), p.Key)),
                [(port.Name, pods.Port)],
                ns: objects.Namespace));

            // In the pod the namespace comes from its service account; here the defaults section stands in for it.
            await using var gateway = await GatewayProcess.StartAsync(configJson, new Dictionary<string, string>
            {
                ["Gateway__Discovery__Kubernetes__KubeConfig"] = api.WriteKubeConfig(directory),
                ["Gateway__Discovery__Kubernetes__Namespace"] = objects.Namespace,
            });
            using var client = gateway.CreateProxyClient();
            var served = new HashSet<string>(StringComparer.Ordinal);
            await Wait.UntilAsync(async () =>
            {
                using var response = await client.GetAsync("/example/hello");
                if (response.IsSuccessStatusCode)
                {
                    served.Add(response.Headers.GetValues("X-Upstream").Single());
                }

                return served.Count == 2;
            }, TimeSpan.FromSeconds(30), "/example/ to be served by both pods", pollMs: 50);
            Assert.Equal(["example-a", "example-b"], served.Order(StringComparer.Ordinal));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// The gateway.json the overlay's ConfigMap carries (config/kubernetes.json), read as the app reads it (keys
    /// case-insensitive).
    /// </summary>
    private static IConfiguration DeployedConfig(RenderedObjects objects)
    {
        var volume = objects.Gateway.Spec.Template.Spec.Volumes.Single(v => v.ConfigMap is not null);
        var json = objects.Single<V1ConfigMap>(volume.ConfigMap.Name).Data["gateway.json"];
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json));
        return new ConfigurationBuilder().AddJsonStream(stream).Build();
    }

    /// <summary>(kind, name) of every object the overlay removes with a `$patch: delete` strategic-merge patch.</summary>
    private static HashSet<(string Kind, string Name)> DeletedByOverlay(string overlay)
    {
        var directory = Path.Combine(Manifests.K8sRoot, "overlays", overlay);
        var kustomization = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(directory, "kustomization.yaml")))
        {
            kustomization.Load(reader);
        }

        var root = (YamlMappingNode)kustomization.Documents[0].RootNode;
        var deleted = new HashSet<(string, string)>();
        if (!root.Children.TryGetValue(new YamlScalarNode("patchesStrategicMerge"), out var patches))
        {
            return deleted;
        }

        foreach (var file in ((YamlSequenceNode)patches).Children.OfType<YamlScalarNode>())
        {
            var stream = new YamlStream();
            using var reader = new StreamReader(Path.Combine(directory, file.Value!));
            stream.Load(reader);
            foreach (var document in stream.Documents)
            {
                if (document.RootNode is YamlMappingNode patch
                    && patch.Children.TryGetValue(new YamlScalarNode("$patch"), out var directive) && directive.ToString() == "delete")
                {
                    var metadata = (YamlMappingNode)patch.Children[new YamlScalarNode("metadata")];
                    deleted.Add((patch.Children[new YamlScalarNode("kind")].ToString(), metadata.Children[new YamlScalarNode("name")].ToString()));
                }
            }
        }

        return deleted;
    }
}
