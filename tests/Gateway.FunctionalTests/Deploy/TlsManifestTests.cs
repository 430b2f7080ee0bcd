using k8s.Models;

namespace Gateway.FunctionalTests.Deploy;

/// <summary>
/// The base mounts the listener's TLS Secret as a directory (so kubelet's ..data swap reaches the gateway) and optionally
/// (the shipped overlays run without one); the tls overlay's cert-manager Certificate writes that Secret and points the
/// proxy endpoint at its files.
/// </summary>
public sealed class TlsManifestTests
{
    [Theory]
    [MemberData(nameof(DiscoveryManifestTests.Overlays), MemberType = typeof(DiscoveryManifestTests))]
    public void Base_MountsTheTlsSecretAsAnOptionalDirectory(string overlay)
    {
        var pod = Manifests.LoadOverlay(overlay).Gateway.Spec.Template.Spec;
        var volume = pod.Volumes.Single(v => v.Name == "tls");
        Assert.Equal("gateway-tls", volume.Secret.SecretName);
        Assert.True(volume.Secret.Optional, "without the Secret the pod must still start (plain HTTP)");
        var mount = pod.Containers.Single(c => c.Name == "gateway").VolumeMounts.Single(m => m.Name == "tls");
        Assert.Equal("/etc/gateway/tls", mount.MountPath);
        Assert.True(mount.ReadOnlyProperty);
        Assert.Null(mount.SubPath); // a subPath mount never sees a Secret update
    }

    [Fact]
    public void TlsOverlay_CertificateWritesTheMountedSecret_AndTheProxyEndpointServesItsFiles()
    {
        var yaml = Manifests.Render(Path.Combine(Manifests.K8sRoot, "overlays", "tls"));
        var documents = yaml.Split("\n---\n");
        var certificate = Assert.Single(documents, d => d.Contains("kind: Certificate", StringComparison.Ordinal));
        Assert.Contains("apiVersion: cert-manager.io/v1", certificate, StringComparison.Ordinal);
        Assert.Contains("secretName: gateway-tls", certificate, StringComparison.Ordinal);
        Assert.Contains("namespace: gateway", certificate, StringComparison.Ordinal);

        // The rest is the prod overlay plus the environment: load it strictly without the Certificate.
        var objects = Manifests.Load(string.Join("\n---\n", documents.Where(d => !d.Contains("kind: Certificate", StringComparison.Ordinal))));
        var container = objects.Gateway.Spec.Template.Spec.Containers.Single(c => c.Name == "gateway");
        string Env(string name) => container.Env.Single(e => e.Name == name).Value;
        Assert.Equal("https://0.0.0.0:8080", Env("Kestrel__Endpoints__Proxy__Url"));
        Assert.Equal("/etc/gateway/tls/tls.crt", Env("Kestrel__Endpoints__Proxy__Certificate__Path"));
        Assert.Equal("/etc/gateway/tls/tls.key", Env("Kestrel__Endpoints__Proxy__Certificate__KeyPath"));
        Assert.Contains(container.Ports, p => p.ContainerPort == 8080);
    }
}
