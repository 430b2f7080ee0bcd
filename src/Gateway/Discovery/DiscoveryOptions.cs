// The per-cluster Discovery block and its defaults. Gateway:Discovery has the same shape: what a cluster leaves unset
// (the kubeconfig, the DNS servers, a scheme or refresh interval) comes from there.
using System.Globalization;
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Discovery;

/// <summary>
/// <c>ReverseProxy:Clusters:&lt;id&gt;:Discovery</c>: where a cluster's destinations come from, with exactly one provider,
/// <c>Kubernetes</c> or <c>Dns</c>. Defaults for every cluster in <c>Gateway:Discovery</c>.
/// </summary>
internal sealed class DiscoveryOptions : IConfigBindable<DiscoveryOptions>
{
    public static DiscoveryOptions Read(IConfiguration section) => section.Get<DiscoveryOptions>() ?? new();

    public const string ClusterBlockName = "Discovery";
    public const string DefaultsSectionPath = "Gateway:Discovery";

    /// <summary>The block with its defaults, as the config reader validates and carries it; it supplies destinations.</summary>
    public static readonly ExtensionBlock<DiscoveryOptions> Block = new(
        ExtensionScope.Cluster, ClusterBlockName, DefaultsSectionPath, DiscoveryValidation.ValidateClusterBlock, suppliesDestinations: true);

    /// <summary>EndpointSlices of a Kubernetes Service: one destination per ready or terminating-but-serving pod.</summary>
    public KubernetesDiscoveryOptions? Kubernetes { get; set; }

    /// <summary>A/AAAA records of a name (a headless Service): one destination per address.</summary>
    public DnsDiscoveryOptions? Dns { get; set; }
}

internal sealed class KubernetesDiscoveryOptions
{
    /// <summary>
    /// The Service's namespace. Unset: the namespace of the credentials (in a cluster the gateway's own, from its service
    /// account; outside, the kubeconfig context's), else <c>default</c>.
    /// </summary>
    public string? Namespace { get; set; }

    /// <summary>The Service name (EndpointSlices labelled <c>kubernetes.io/service-name</c> with it). Required.</summary>
    public string? Service { get; set; }

    /// <summary>
    /// The Service port's name (<c>http</c>), or a port number as EndpointSlices carry it: the pod's (target) port, not the
    /// Service's own number. Required.
    /// </summary>
    public string? Port { get; set; }

    /// <summary><c>http</c> (default) or <c>https</c>.</summary>
    public string? Scheme { get; set; }

    /// <summary>
    /// Only in <c>Gateway:Discovery</c>: a kubeconfig file for running outside a cluster. Unset: the in-cluster service
    /// account, else the file(s) in <c>KUBECONFIG</c>; never <c>~/.kube/config</c> on its own.
    /// </summary>
    public string? KubeConfig { get; set; }
}

internal sealed class DnsDiscoveryOptions
{
    /// <summary>The name to resolve, e.g. <c>orders.shop.svc.cluster.local</c>. Required.</summary>
    public string? Name { get; set; }

    /// <summary>The port every address serves on. Required.</summary>
    public int? Port { get; set; }

    /// <summary><c>http</c> (default) or <c>https</c>.</summary>
    public string? Scheme { get; set; }

    /// <summary>How often the name is resolved again (default 00:00:05); sooner when a record's TTL says so (not below 1 s).</summary>
    public TimeSpan? RefreshInterval { get; set; }

    /// <summary>Only in <c>Gateway:Discovery</c>: DNS servers as <c>host:port</c>. Unset: the system resolver.</summary>
    public string[]? Servers { get; set; }
}

internal static class DiscoveryValidation
{
    private static readonly string[] Providers = ["Kubernetes", "Dns"];

    public static void ValidateClusterBlock(DiscoveryOptions options, IConfigurationSection block, ICollection<string> errors)
    {
        var path = block.Path;
        foreach (var child in block.GetChildren())
        {
            if (Array.FindIndex(Providers, p => string.Equals(p, child.Key, StringComparison.OrdinalIgnoreCase)) < 0)
            {
                errors.Add($"{child.Path}: is not a discovery provider (known: {string.Join(", ", Providers)})");
            }
        }

        if (options.Kubernetes is not null && options.Dns is not null)
        {
            errors.Add($"{path}: set one provider, Kubernetes or Dns, not both");
        }
        else if (options.Kubernetes is null && options.Dns is null)
        {
            errors.Add(ConfigErrors.Required(path, "a provider (Kubernetes or Dns)"));
        }

        if (options.Kubernetes is { } kubernetes)
        {
            var at = $"{path}:Kubernetes";
            if (string.IsNullOrWhiteSpace(kubernetes.Service))
            {
                errors.Add(ConfigErrors.Required($"{at}:Service", "the Service name"));
            }

            if (string.IsNullOrWhiteSpace(kubernetes.Port))
            {
                errors.Add(ConfigErrors.Required($"{at}:Port", "the Service port's name or number"));
            }
            else if (int.TryParse(kubernetes.Port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is < 1 or > 65535)
            {
                errors.Add(ConfigErrors.Invalid($"{at}:Port", kubernetes.Port, "must be a port name or a number between 1 and 65535"));
            }

            CheckScheme(kubernetes.Scheme, $"{at}:Scheme", errors);
            if (kubernetes.KubeConfig is not null)
            {
                errors.Add($"{at}:KubeConfig: only allowed in {DiscoveryOptions.DefaultsSectionPath}:Kubernetes");
            }
        }

        if (options.Dns is { } dns)
        {
            var at = $"{path}:Dns";
            if (string.IsNullOrWhiteSpace(dns.Name))
            {
                errors.Add(ConfigErrors.Required($"{at}:Name", "the DNS name to resolve"));
            }

            if (dns.Port is null)
            {
                errors.Add(ConfigErrors.Required($"{at}:Port", "the port the addresses serve on"));
            }

            if (dns.Servers is not null)
            {
                errors.Add($"{at}:Servers: only allowed in {DiscoveryOptions.DefaultsSectionPath}:Dns");
            }

            ValidateDns(dns, at, errors);
        }
    }

    /// <summary>The ranges shared by a cluster's Dns block and the defaults.</summary>
    public static void ValidateDns(DnsDiscoveryOptions dns, string path, ICollection<string> errors)
    {
        if (dns.Port is < 1 or > 65535)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:Port", dns.Port.ToString(), "must be between 1 and 65535"));
        }

        if (dns.RefreshInterval is { } refresh && (refresh < TimeSpan.FromSeconds(1) || refresh > TimeSpan.FromHours(1)))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:RefreshInterval", refresh.ToString(), "must be between 00:00:01 and 01:00:00"));
        }

        CheckScheme(dns.Scheme, $"{path}:Scheme", errors);
        foreach (var server in dns.Servers ?? [])
        {
            try
            {
                DnsServerLookup.ParseServer(server);
            }
            catch (FormatException)
            {
                errors.Add(ConfigErrors.Invalid($"{path}:Servers", server, "is not a DNS server address (an IP, or IP:port such as \"127.0.0.1:5353\")"));
            }
        }
    }

    private static void CheckScheme(string? scheme, string path, ICollection<string> errors)
    {
        if (scheme is not null && !string.Equals(scheme, "http", StringComparison.OrdinalIgnoreCase) && !string.Equals(scheme, "https", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(ConfigErrors.Invalid(path, scheme, "must be http or https"));
        }
    }
}

/// <summary>Checks <c>Gateway:Discovery</c>, the defaults of every cluster's Discovery block.</summary>
internal sealed class DiscoveryDefaultsValidator : IValidateOptions<DiscoveryOptions>
{
    public ValidateOptionsResult Validate(string? name, DiscoveryOptions options)
    {
        var errors = new List<string>();
        if (options.Dns is { } dns)
        {
            DiscoveryValidation.ValidateDns(dns, $"{DiscoveryOptions.DefaultsSectionPath}:Dns", errors);
        }

        if (options.Kubernetes?.KubeConfig is { } kubeConfig && !File.Exists(kubeConfig))
        {
            errors.Add(ConfigErrors.Invalid($"{DiscoveryOptions.DefaultsSectionPath}:Kubernetes:KubeConfig", kubeConfig, "names no file"));
        }

        return ConfigErrors.ToResult(errors);
    }
}
