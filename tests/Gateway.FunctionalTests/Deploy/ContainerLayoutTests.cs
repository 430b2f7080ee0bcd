using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.TestSupport;
using k8s.Models;

namespace Gateway.FunctionalTests.Deploy;

/// <summary>
/// The real gateway started the way the prod pod starts it, minus the container engine: working directory = the
/// image's WORKDIR, config only where the ConfigMap volume puts it (kubelet's `..data` symlink layout, no --config),
/// environment = the Dockerfile's ENV plus the Deployment's literal env. Then the manifests' probe paths and the
/// ServiceMonitor's scrape path are requested on whichever listener the manifests' ports point at.
/// </summary>
public sealed class ContainerLayoutTests
{
    [Fact]
    public async Task ProdPod_AsLaidOut_AnswersItsProbesAndScrapeOnTheManagementListener()
    {
        var objects = Manifests.LoadOverlay("prod");
        var container = objects.GatewayContainer;
        var pod = objects.Gateway.Spec.Template.Spec;
        var dockerfile = Dockerfile.Load();
        var root = Directory.CreateTempSubdirectory("gateway-pod-").FullName;
        Process? process = null;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        try
        {
            // "/" of the container is `root`; lay out every ConfigMap volume as kubelet does.
            foreach (var mount in container.VolumeMounts)
            {
                var volume = pod.Volumes.Single(v => v.Name == mount.Name);
                if (volume.ConfigMap is not null)
                {
                    LayOutConfigMapVolume(Path.Combine(root, mount.MountPath.TrimStart('/')), objects.Single<V1ConfigMap>(volume.ConfigMap.Name));
                }
            }

            var workdir = Path.Combine(root, dockerfile.Final("WORKDIR").Last().Arguments.TrimStart('/'));
            Directory.CreateDirectory(workdir);
            var mounted = JsonNode.Parse(File.ReadAllText(Path.Combine(workdir, "config", "gateway.json")))!;
            Assert.True((mounted["ReverseProxy"]?["Clusters"] as JsonObject ?? new JsonObject()).Any(c => c.Value?["Discovery"]?["Kubernetes"] is not null),
                "the pod's config/gateway.json (the ConfigMap, from config/kubernetes.json) has no Kubernetes-discovered cluster: " +
                "this test no longer shows that one without an API server leaves the pod ready");

            // Container ports map to free loopback ports, through the same Kestrel endpoint names the app binds.
            var local = new Dictionary<int, int>
            {
                [AppFacts.KestrelPort("Proxy")] = Ports.GetFree(),
                [AppFacts.KestrelPort("Management")] = Ports.GetFree(),
            };
            // The image holds the publish output in WORKDIR and starts the native executable there; here the native
            // build the suite tests (tests/run.sh publishes it) stands in for it.
            var entrypoint = dockerfile.Final("ENTRYPOINT").Single().Parse().Words;
            Assert.Equal(Path.GetFileName(entrypoint[0]), AppFacts.AssemblyName);
            var executable = TestPaths.GatewayExecutable
                ?? throw new InvalidOperationException("the image runs the Native AOT build: set GATEWAY_TEST_EXECUTABLE to it (tests/run.sh does)");
            var info = new ProcessStartInfo(executable)
            {
                WorkingDirectory = workdir,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            // No API server here: the deployed config's Kubernetes-discovered cluster (`example` of config/kubernetes.json,
            // which the ConfigMap mounts over the image's default config/gateway.json) must find no credentials (not the
            // test machine's kubeconfig, nor a service account if the tests run in a pod), so its discovery cannot start,
            // which must not hold readiness.
            foreach (var name in new[] { "GATEWAY_CONFIG", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT", "ASPNETCORE_URLS", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT" })
            {
                info.Environment.Remove(name);
            }

            info.Environment["KUBECONFIG"] = Path.Combine(root, "no-kubeconfig");

            foreach (var (key, value) in dockerfile.FinalEnvironment())
            {
                info.Environment[key] = value;
            }

            foreach (var env in container.Env.Where(e => e.Value is not null))
            {
                info.Environment[env.Name] = env.Value;
            }

            info.Environment["Kestrel__Endpoints__Proxy__Url"] = $"http://127.0.0.1:{local[AppFacts.KestrelPort("Proxy")]}";
            info.Environment["Kestrel__Endpoints__Management__Url"] = $"http://127.0.0.1:{local[AppFacts.KestrelPort("Management")]}";

            process = Process.Start(info)!;
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
            string UrlFor(IntOrString port, string path) => $"http://127.0.0.1:{local[ObjectChecks.ContainerPort(port, container)!.Value]}{path}";

            // Like kubelet: the startup probe until it passes (the app found its config, or it would have exited).
            var startup = container.StartupProbe.HttpGet;
            await Wait.UntilAsync(async () =>
            {
                if (process.HasExited)
                {
                    return true;
                }

                using var response = await client.GetAsync(UrlFor(startup.Port, startup.Path));
                return response.IsSuccessStatusCode;
            }, TimeSpan.FromSeconds(60), "the startup probe to pass");
            Assert.False(process.HasExited, $"gateway exited with {(process.HasExited ? process.ExitCode : 0)}:\n{string.Join('\n', output)}");

            foreach (var probe in new[] { container.LivenessProbe.HttpGet, container.ReadinessProbe.HttpGet })
            {
                using var response = await client.GetAsync(UrlFor(probe.Port, probe.Path));
                Assert.True(response.IsSuccessStatusCode, $"GET {probe.Path} on container port {probe.Port}: {(int)response.StatusCode}");
            }

            // ServiceMonitor endpoint -> management Service port -> targetPort -> container port.
            var endpoint = objects.OfKind<ServiceMonitor>().Single().Spec.Endpoints.Single();
            var servicePort = objects.Single<V1Service>("gateway-management").Spec.Ports.Single(p => p.Name == endpoint.Port);
            var metrics = await client.GetStringAsync(UrlFor(servicePort.TargetPort, endpoint.Path!));
            Assert.Contains("# TYPE ", metrics);

            // DOTNET_RUNNING_IN_CONTAINER=true: every log line is a JSON object; no "Overriding address(es)" warning
            // from the base image's ASPNETCORE_HTTP_PORTS.
            var lines = output.ToArray();
            Assert.NotEmpty(lines);
            Assert.All(lines, line => Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(line).RootElement.ValueKind));
            Assert.DoesNotContain(lines, line => line.Contains("Overriding address", StringComparison.Ordinal));
        }
        finally
        {
            if (process is not null)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(10_000);
                }

                process.Dispose();
            }

            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>kubelet's atomic-writer layout: files in a timestamped dir, `..data` links to it, each key links through `..data`.</summary>
    private static void LayOutConfigMapVolume(string mountPath, V1ConfigMap configMap)
    {
        const string Timestamped = "..2025_01_01_00_00_00.000000001";
        Directory.CreateDirectory(Path.Combine(mountPath, Timestamped));
        Directory.CreateSymbolicLink(Path.Combine(mountPath, "..data"), Timestamped);
        foreach (var (key, value) in configMap.Data)
        {
            File.WriteAllText(Path.Combine(mountPath, Timestamped, key), value);
            File.CreateSymbolicLink(Path.Combine(mountPath, key), Path.Combine("..data", key));
        }
    }
}
