using System.Text;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.TestSupport;
using k8s.Models;

namespace Gateway.FunctionalTests.Deploy;

/// <summary>The manifests agree with the app: ports, probe paths, config location, shutdown budget, metrics scrape.</summary>
public sealed class ManifestAgreementTests
{
    public static TheoryData<string> Overlays => new(Manifests.Overlays);

    [Theory]
    [MemberData(nameof(Overlays))]
    public void TerminationGracePeriod_ExceedsReadinessDelayPlusDrainTimeout_FromTheShippedConfig(string overlay)
    {
        var budget = AppFacts.ShippedShutdownSetting("ReadinessDelay") + AppFacts.ShippedShutdownSetting("DrainTimeout");
        var grace = TimeSpan.FromSeconds(Manifests.LoadOverlay(overlay).Gateway.Spec.Template.Spec.TerminationGracePeriodSeconds!.Value);

        // At least 5 s of margin for pool retirement and process exit before kubelet's SIGKILL.
        Assert.True(grace >= budget + TimeSpan.FromSeconds(5),
            $"terminationGracePeriodSeconds {grace.TotalSeconds} s leaves less than 5 s after ReadinessDelay + DrainTimeout = {budget.TotalSeconds} s");
        // No preStop hook: it would spend the same grace period before the gateway even sees SIGTERM.
        Assert.Null(Manifests.LoadOverlay(overlay).GatewayContainer.Lifecycle?.PreStop);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void ConfigMap_HoldsTheDeployedConfig_AsGatewayJson_MountedWhereTheAppReadsIt(string overlay)
    {
        var objects = Manifests.LoadOverlay(overlay);
        var mount = objects.GatewayContainer.VolumeMounts.Single(m => m.MountPath.EndsWith("/config", StringComparison.Ordinal));
        var volume = objects.Gateway.Spec.Template.Spec.Volumes.Single(v => v.Name == mount.Name);
        var configMap = objects.Single<V1ConfigMap>(volume.ConfigMap.Name);

        // The app reads config/gateway.json relative to its working directory, the image's WORKDIR.
        var workdir = Dockerfile.Load().Final("WORKDIR").Last().Arguments;
        Assert.Equal(workdir.TrimEnd('/') + "/config", mount.MountPath);
        Assert.Null(mount.SubPath); // a subPath mount never sees ConfigMap updates, so hot reload would not work
        Assert.Equal(["gateway.json"], configMap.Data.Keys);
        // The pod reads gateway.json; kustomize fills it from config/kubernetes.json (`gateway.json=kubernetes.json`).
        Assert.True(
            Encoding.UTF8.GetBytes(configMap.Data["gateway.json"]).AsSpan().SequenceEqual(File.ReadAllBytes(TestPaths.DeployedConfig)),
            $"{overlay}: the ConfigMap's gateway.json is not config/kubernetes.json byte for byte; config/kustomization.yaml must " +
            "generate it with `files: - gateway.json=kubernetes.json`, and an overlay must not replace it (edit config/kubernetes.json instead)");
        Assert.DoesNotContain(objects.GatewayContainer.Env ?? [], e => e.Name == "GATEWAY_CONFIG");
        Assert.DoesNotContain(objects.GatewayContainer.Args ?? [], a => a.StartsWith("--config", StringComparison.Ordinal));
    }

    /// <summary>
    /// config/kubernetes.json (what the kustomize base deploys) is config/gateway.json (the shipped default: `dotnet run`,
    /// the image) plus exactly the `example` route and cluster, so the two cannot drift apart: any other change belongs
    /// in both files. The shipped default has no Kubernetes-discovered cluster: outside a cluster it could never start.
    /// </summary>
    [Fact]
    public void DeployedConfig_IsTheShippedConfig_PlusExactlyTheExampleRouteAndCluster()
    {
        var shipped = JsonNode.Parse(File.ReadAllText(TestPaths.ShippedConfig))!.AsObject();
        var deployed = JsonNode.Parse(File.ReadAllText(TestPaths.DeployedConfig))!.AsObject();

        var discovered = (shipped["ReverseProxy"]?["Clusters"] as JsonObject ?? new JsonObject())
            .Where(c => c.Value?["Discovery"]?["Kubernetes"] is not null)
            .Select(c => c.Key)
            .ToList();
        Assert.True(discovered.Count == 0,
            $"config/gateway.json (the shipped default, used by `dotnet run` and `docker run`) has Kubernetes-discovered cluster(s) " +
            $"{string.Join(", ", discovered)}: they cannot start outside a cluster; put them in config/kubernetes.json (what the kustomize base deploys)");

        Assert.True(deployed["ReverseProxy"]?["Routes"]?["example"] is JsonObject, "config/kubernetes.json has no ReverseProxy:Routes:example: add the example route there");
        Assert.True(deployed["ReverseProxy"]?["Clusters"]?["example"]?["Discovery"]?["Kubernetes"] is JsonObject,
            "config/kubernetes.json has no ReverseProxy:Clusters:example with Discovery:Kubernetes: add the example cluster there");
        Assert.True(deployed["ReverseProxy"]!["Routes"]!["example"]!["ClusterId"]?.GetValue<string>() == "example",
            "config/kubernetes.json: ReverseProxy:Routes:example must have ClusterId \"example\"");

        var withoutExample = deployed.DeepClone().AsObject();
        withoutExample["ReverseProxy"]!["Routes"]!.AsObject().Remove("example");
        withoutExample["ReverseProxy"]!["Clusters"]!.AsObject().Remove("example");
        var differences = new List<string>();
        Differences(shipped, withoutExample, "", differences);
        Assert.True(JsonNode.DeepEquals(shipped, withoutExample),
            "config/kubernetes.json must be config/gateway.json plus only the `example` route and cluster; they differ at " +
            $"{string.Join(", ", differences.Take(10))}. Edit the two files together: a change to config/gateway.json belongs in " +
            "config/kubernetes.json too (a setting only the pods should get goes in an overlay's env, not in config/kubernetes.json alone)");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void ContainerAndServicePorts_MatchTheKestrelEndpoints(string overlay)
    {
        var objects = Manifests.LoadOverlay(overlay);
        var container = objects.GatewayContainer;
        Assert.Equal(AppFacts.KestrelPort("Proxy"), ObjectChecks.ContainerPort((IntOrString)"proxy", container));
        Assert.Equal(AppFacts.KestrelPort("Management"), ObjectChecks.ContainerPort((IntOrString)"management", container));
        Assert.DoesNotContain(container.Env ?? [], e => e.Name.StartsWith("Kestrel__", StringComparison.Ordinal) || e.Name is "ASPNETCORE_URLS" or "ASPNETCORE_HTTP_PORTS");

        var proxy = objects.Single<V1Service>("gateway");
        Assert.Equal(AppFacts.KestrelPort("Proxy"), ObjectChecks.ContainerPort(Assert.Single(proxy.Spec.Ports).TargetPort, container));
        var management = objects.Single<V1Service>("gateway-management");
        Assert.Equal(AppFacts.KestrelPort("Management"), ObjectChecks.ContainerPort(Assert.Single(management.Spec.Ports).TargetPort, container));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Probes_HitHealthPathsOnTheManagementPort(string overlay)
    {
        var container = Manifests.LoadOverlay(overlay).GatewayContainer;
        var probes = new[] { ("startup", container.StartupProbe, "/healthz/live"), ("liveness", container.LivenessProbe, "/healthz/live"), ("readiness", container.ReadinessProbe, "/healthz/ready") };
        foreach (var (kind, probe, path) in probes)
        {
            Assert.True(probe?.HttpGet is not null, $"{kind} probe must be an httpGet");
            Assert.Equal(path, probe!.HttpGet.Path);
            Assert.Equal(AppFacts.KestrelPort("Management"), ObjectChecks.ContainerPort(probe.HttpGet.Port, container));
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void ServiceMonitor_ScrapesMetricsOnTheManagementServicePort(string overlay)
    {
        var objects = Manifests.LoadOverlay(overlay);
        var monitor = objects.OfKind<ServiceMonitor>().Single();
        var endpoint = Assert.Single(monitor.Spec.Endpoints);
        Assert.Equal("/metrics", endpoint.Path);

        var service = Assert.Single(objects.OfKind<V1Service>(), s => ObjectChecks.Selects(monitor.Spec.Selector, s.Metadata.Labels));
        Assert.Equal("gateway-management", service.Metadata.Name);
        var port = Assert.Single(service.Spec.Ports, p => p.Name == endpoint.Port);
        Assert.Equal(AppFacts.KestrelPort("Management"), ObjectChecks.ContainerPort(port.TargetPort, objects.GatewayContainer));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void NetworkPolicy_LetsOnlyMonitoringReachTheManagementPort(string overlay)
    {
        var objects = Manifests.LoadOverlay(overlay);
        var policy = objects.Single<V1NetworkPolicy>("gateway");
        Assert.Contains("Ingress", policy.Spec.PolicyTypes);
        var management = AppFacts.KestrelPort("Management");
        foreach (var rule in policy.Spec.Ingress)
        {
            var ports = rule.Ports.Select(p => ObjectChecks.ContainerPort(p.Port, objects.GatewayContainer)).ToList();
            Assert.DoesNotContain(null, ports); // a rule without ports would open every port
            if (ports.Contains(management))
            {
                var peer = Assert.Single(rule.FromProperty);
                Assert.Equal("monitoring", peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]);
                Assert.NotNull(peer.PodSelector);
            }
        }

        Assert.Contains(policy.Spec.Ingress, r => r.Ports.Any(p => ObjectChecks.ContainerPort(p.Port, objects.GatewayContainer) == AppFacts.KestrelPort("Proxy")));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void EveryContainer_RunsLockedDown_WithRequestsAndLimits(string overlay)
    {
        foreach (var deployment in Manifests.LoadOverlay(overlay).OfKind<V1Deployment>())
        {
            var pod = deployment.Spec.Template.Spec;
            Assert.True(pod.SecurityContext.RunAsNonRoot, $"{deployment.Metadata.Name}: runAsNonRoot");
            Assert.True(pod.SecurityContext.RunAsUser > 0, $"{deployment.Metadata.Name}: runAsUser");
            // Only the gateway talks to the API server (Kubernetes discovery, as its own ServiceAccount; DiscoveryManifestTests).
            Assert.True((pod.AutomountServiceAccountToken ?? true) == (deployment.Metadata.Name == "gateway"), $"{deployment.Metadata.Name}: automountServiceAccountToken");
            foreach (var c in pod.Containers)
            {
                var id = $"{deployment.Metadata.Name}/{c.Name}";
                Assert.True(c.SecurityContext.AllowPrivilegeEscalation == false, $"{id}: allowPrivilegeEscalation");
                Assert.True(c.SecurityContext.ReadOnlyRootFilesystem == true, $"{id}: readOnlyRootFilesystem");
                Assert.Equal(["ALL"], c.SecurityContext.Capabilities.Drop);
                Assert.Null(c.SecurityContext.Capabilities.Add);
                Assert.True(c.Resources.Requests.ContainsKey("cpu") && c.Resources.Requests.ContainsKey("memory"), $"{id}: cpu and memory requests");
                Assert.True(c.Resources.Limits.ContainsKey("memory"), $"{id}: memory limit");
            }
        }

        // The gateway's only writable path: /tmp (diagnostics socket, temp files).
        var gateway = Manifests.LoadOverlay(overlay);
        var tmp = gateway.GatewayContainer.VolumeMounts.Single(m => m.MountPath == "/tmp");
        Assert.NotNull(gateway.Gateway.Spec.Template.Spec.Volumes.Single(v => v.Name == tmp.Name).EmptyDir);
    }

    [Fact]
    public void Prod_RunsAtLeastThreeSpreadReplicas_WithRedisFromASecret_AndNoDemoUpstreams()
    {
        var objects = Manifests.LoadOverlay("prod");
        var hpa = objects.Single<V2HorizontalPodAutoscaler>("gateway");
        Assert.Equal(3, hpa.Spec.MinReplicas);
        Assert.Null(objects.Gateway.Spec.Replicas); // the HPA owns the count

        var spread = objects.Gateway.Spec.Template.Spec.TopologySpreadConstraints;
        Assert.Equal(["kubernetes.io/hostname", "topology.kubernetes.io/zone"], spread.Select(s => s.TopologyKey).Order());
        Assert.All(spread, s => Assert.True(ObjectChecks.Selects(s.LabelSelector, objects.Gateway.Spec.Template.Metadata.Labels)));

        var env = objects.GatewayContainer.Env;
        var redis = env.Single(e => e.Name == "Gateway__Redis__Configuration");
        Assert.Null(redis.Value);
        Assert.Equal("gateway-redis", redis.ValueFrom.SecretKeyRef.Name);
        Assert.NotEqual(true, redis.ValueFrom.SecretKeyRef.Optional);
        Assert.Null(env.Single(e => e.Name == "Gateway__Admin__Token").Value);
        Assert.DoesNotContain(env, e => e.Name is "Gateway__Demo__Enabled" or "ASPNETCORE_ENVIRONMENT" or "DOTNET_ENVIRONMENT");
        Assert.DoesNotContain(objects.OfKind<V1Deployment>(), d => d.Metadata.Name != "gateway"); // no in-cluster Redis, no example upstream
    }

    [Fact]
    public void Dev_RunsDemoUpstreams_AndPointsAtItsOwnRedis()
    {
        var objects = Manifests.LoadOverlay("dev");
        var env = objects.GatewayContainer.Env;
        Assert.Equal("true", env.Single(e => e.Name == "Gateway__Demo__Enabled").Value);

        var redis = objects.Single<V1Service>("gateway-redis");
        var configured = env.Single(e => e.Name == "Gateway__Redis__Configuration").Value;
        Assert.StartsWith($"{redis.Metadata.Name}:{Assert.Single(redis.Spec.Ports).Port}", configured);
        Assert.Equal(1, objects.Single<V2HorizontalPodAutoscaler>("gateway").Spec.MinReplicas);
    }

    /// <summary>Key paths (a:b:c) where <paramref name="shipped"/> and <paramref name="deployed"/> differ.</summary>
    private static void Differences(JsonNode? shipped, JsonNode? deployed, string path, List<string> found)
    {
        if (shipped is JsonObject a && deployed is JsonObject b)
        {
            foreach (var key in a.Select(p => p.Key).Union(b.Select(p => p.Key), StringComparer.Ordinal))
            {
                var at = path.Length == 0 ? key : $"{path}:{key}";
                if (!a.ContainsKey(key))
                {
                    found.Add($"{at} (only in config/kubernetes.json)");
                }
                else if (!b.ContainsKey(key))
                {
                    found.Add($"{at} (only in config/gateway.json)");
                }
                else
                {
                    Differences(a[key], b[key], at, found);
                }
            }
        }
        else if (!JsonNode.DeepEquals(shipped, deployed))
        {
            found.Add($"{(path.Length == 0 ? "(root)" : path)} (config/gateway.json: {shipped?.ToJsonString() ?? "null"}, config/kubernetes.json: {deployed?.ToJsonString() ?? "null"})");
        }
    }
}
