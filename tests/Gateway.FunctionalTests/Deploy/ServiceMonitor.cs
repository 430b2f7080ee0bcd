// The Prometheus Operator's ServiceMonitor (monitoring.coreos.com/v1) is a CRD, not in KubernetesClient's models:
// a typed model of the fields we use (strict loading rejects any other) and the CRD's own constraints on them.
using k8s;
using k8s.Models;

namespace Gateway.FunctionalTests.Deploy;

public sealed class ServiceMonitor : IKubernetesObject<V1ObjectMeta>
{
    public const string KubeApiVersion = "monitoring.coreos.com/v1";
    public const string KubeKind = "ServiceMonitor";

    public string ApiVersion { get; set; } = KubeApiVersion;

    public string Kind { get; set; } = KubeKind;

    public V1ObjectMeta Metadata { get; set; } = null!;

    public ServiceMonitorSpec Spec { get; set; } = null!;
}

public sealed class ServiceMonitorSpec
{
    public V1LabelSelector Selector { get; set; } = null!;

    public ServiceMonitorNamespaceSelector? NamespaceSelector { get; set; }

    public string? JobLabel { get; set; }

    public List<ServiceMonitorEndpoint> Endpoints { get; set; } = null!;
}

public sealed class ServiceMonitorNamespaceSelector
{
    public bool? Any { get; set; }

    public List<string>? MatchNames { get; set; }
}

public sealed class ServiceMonitorEndpoint
{
    public string? Port { get; set; }

    public IntOrString? TargetPort { get; set; }

    public string? Path { get; set; }

    public string? Scheme { get; set; }

    public string? Interval { get; set; }

    public string? ScrapeTimeout { get; set; }

    public bool? HonorLabels { get; set; }
}
