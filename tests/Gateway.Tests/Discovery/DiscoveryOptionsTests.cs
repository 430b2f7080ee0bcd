using Gateway.Configuration;
using Gateway.Discovery;
using Gateway.Foundation;
using Microsoft.Extensions.Configuration;

namespace Gateway.Tests.Discovery;

public sealed class DiscoveryOptionsTests
{
    private const string Block = "ReverseProxy:Clusters:orders:Discovery";

    private static List<string> Errors(Dictionary<string, string?> discovery)
    {
        var data = new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:r:ClusterId"] = "orders",
            ["ReverseProxy:Routes:r:Match:Path"] = "/{**rest}",
        };
        foreach (var (key, value) in discovery)
        {
            data[key.StartsWith("Gateway:", StringComparison.Ordinal) ? key : $"{Block}:{key}"] = value;
        }

        var errors = new List<string>();
        ProxyConfigReader.Read(new ConfigurationBuilder().AddInMemoryCollection(data).Build(), [DiscoveryOptions.Block], errors);
        return errors;
    }

    [Fact]
    public void AKubernetesBlock_IsACompleteCluster_WithoutStaticDestinations()
    {
        var errors = Errors(new() { ["Kubernetes:Namespace"] = "shop", ["Kubernetes:Service"] = "orders", ["Kubernetes:Port"] = "http" });

        Assert.Empty(errors);
    }

    [Fact]
    public void AnUnknownProvider_IsNamedWithItsKeyPath()
    {
        var errors = Errors(new() { ["Consul:Service"] = "orders" });

        Assert.Contains($"{Block}:Consul: is not a discovery provider (known: Kubernetes, Dns)", errors);
        Assert.Contains($"{Block}: a provider (Kubernetes or Dns) is required", errors);
    }

    [Fact]
    public void BothProviders_AreRefused()
    {
        var errors = Errors(new()
        {
            ["Kubernetes:Service"] = "orders", ["Kubernetes:Port"] = "http",
            ["Dns:Name"] = "orders.shop.svc.cluster.local", ["Dns:Port"] = "8080",
        });

        Assert.Equal($"{Block}: set one provider, Kubernetes or Dns, not both", Assert.Single(errors));
    }

    [Fact]
    public void KubernetesMistakes_NameTheKeyAndTheValue()
    {
        var errors = Errors(new() { ["Kubernetes:Port"] = "70000", ["Kubernetes:Scheme"] = "ftp", ["Kubernetes:KubeConfig"] = "/tmp/kc" });

        Assert.Contains($"{Block}:Kubernetes:Service: the Service name is required", errors);
        Assert.Contains($"{Block}:Kubernetes:Port: '70000' must be a port name or a number between 1 and 65535", errors);
        Assert.Contains($"{Block}:Kubernetes:Scheme: 'ftp' must be http or https", errors);
        Assert.Contains($"{Block}:Kubernetes:KubeConfig: only allowed in Gateway:Discovery:Kubernetes", errors);
    }

    [Fact]
    public void DnsMistakes_NameTheKeyAndTheValue()
    {
        var errors = Errors(new() { ["Dns:RefreshInterval"] = "00:00:00.100", ["Dns:Servers:0"] = "127.0.0.1:53" });

        Assert.Contains($"{Block}:Dns:Name: the DNS name to resolve is required", errors);
        Assert.Contains($"{Block}:Dns:Port: the port the addresses serve on is required", errors);
        Assert.Contains($"{Block}:Dns:RefreshInterval: '00:00:00.1000000' must be between 00:00:01 and 01:00:00", errors);
        Assert.Contains($"{Block}:Dns:Servers: only allowed in Gateway:Discovery:Dns", errors);
    }

    [Fact]
    public void AWrongTypedValue_IsReportedByTheBinder_WithItsPath()
    {
        var errors = Errors(new() { ["Dns:Name"] = "orders", ["Dns:Port"] = "http" });

        Assert.Contains($"{Block}:Dns:Port: 'http' is not a whole number", errors);
    }

    [Fact]
    public void TheDefaults_AreCheckedToo()
    {
        var validator = new DiscoveryDefaultsValidator();
        var options = new DiscoveryOptions
        {
            Dns = new DnsDiscoveryOptions { Servers = ["127.0.0.1:5353", "dns.example"] },
            Kubernetes = new KubernetesDiscoveryOptions { KubeConfig = "/nonexistent/kubeconfig" },
        };

        var result = validator.Validate(null, options);

        Assert.Equal(
            [
                "Gateway:Discovery:Dns:Servers: 'dns.example' is not a DNS server address (an IP, or IP:port such as \"127.0.0.1:5353\")",
                "Gateway:Discovery:Kubernetes:KubeConfig: '/nonexistent/kubeconfig' names no file",
            ],
            result.Failures);
    }

    [Fact]
    public void TheBlockAndItsDefaults_TravelInTheClusterMetadata()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:r:ClusterId"] = "orders",
            ["ReverseProxy:Routes:r:Match:Path"] = "/{**rest}",
            [$"{Block}:Dns:Name"] = "orders.shop.svc.cluster.local",
            [$"{Block}:Dns:Port"] = "8080",
            ["Gateway:Discovery:Dns:Servers:0"] = "127.0.0.1:5353",
        }).Build();
        var errors = new List<string>();

        var cluster = ProxyConfigReader.Read(config, [DiscoveryOptions.Block], errors).Clusters[0];
        var options = DiscoveryOptions.Block.Get(cluster.Metadata);

        Assert.Empty(errors);
        Assert.Equal("orders.shop.svc.cluster.local", options.Own!.Dns!.Name);
        Assert.Equal(8080, options.Own.Dns.Port);
        Assert.Equal(["127.0.0.1:5353"], options.Defaults.Dns!.Servers!);
    }
}
