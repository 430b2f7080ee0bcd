// What strict typed loading cannot see: required fields, value constraints the API server enforces, and references
// between objects (a selector that selects nothing, a named port that does not exist) that fail only at run time.
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace Gateway.FunctionalTests.Deploy;

public static partial class ObjectChecks
{
    // Prometheus duration, as the ServiceMonitor CRD's schema pattern has it.
    [GeneratedRegex("^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")]
    private static partial Regex PrometheusDuration();

    // RFC 6335 service name, the rule for named ports (IANA_SVC_NAME).
    [GeneratedRegex("^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex PortName();

    public static void Check(object obj, List<string> errors)
    {
        var meta = ((IMetadata<V1ObjectMeta>)obj).Metadata;
        var id = $"{obj.GetType().Name} '{meta?.Name}'";
        void Require(bool ok, string problem)
        {
            if (!ok)
            {
                errors.Add($"{id}: {problem}");
            }
        }

        Require(!string.IsNullOrEmpty(meta?.Name), "metadata.name is required");
        switch (obj)
        {
            case V1Deployment d:
                Require(d.Spec?.Selector?.MatchLabels is { Count: > 0 }, "spec.selector.matchLabels is required");
                Require(d.Spec?.Template?.Metadata?.Labels is not null && Selects(d.Spec.Selector, d.Spec.Template.Metadata.Labels),
                    "spec.selector does not match spec.template.metadata.labels");
                var pod = d.Spec?.Template?.Spec;
                Require(pod?.Containers is { Count: > 0 }, "spec.template.spec.containers is required");
                foreach (var c in pod?.Containers ?? [])
                {
                    Require(!string.IsNullOrEmpty(c.Name) && !string.IsNullOrEmpty(c.Image), "every container needs name and image");
                    foreach (var port in c.Ports ?? [])
                    {
                        Require(port.ContainerPort is > 0 and < 65536, $"containerPort {port.ContainerPort} out of range");
                        Require(port.Name is null || PortName().IsMatch(port.Name), $"port name '{port.Name}' is not a valid IANA service name");
                    }

                    foreach (var probe in new[] { c.StartupProbe, c.LivenessProbe, c.ReadinessProbe })
                    {
                        if (probe?.HttpGet is { } get)
                        {
                            Require(ResolvesInContainer(get.Port, c), $"probe port '{get.Port}' is not a port of container '{c.Name}'");
                            Require(get.Path?.StartsWith('/') == true, $"probe path '{get.Path}' must start with '/'");
                        }
                    }

                    foreach (var mount in c.VolumeMounts ?? [])
                    {
                        Require(pod!.Volumes?.Any(v => v.Name == mount.Name) == true, $"volumeMount '{mount.Name}' names no volume");
                    }
                }

                break;
            case V1Service s:
                Require(s.Spec?.Ports is { Count: > 0 }, "spec.ports is required");
                Require(s.Spec?.Selector is { Count: > 0 }, "spec.selector is required");
                foreach (var port in s.Spec?.Ports ?? [])
                {
                    Require(port.Port is > 0 and < 65536, $"port {port.Port} out of range");
                }

                break;
            case V1PodDisruptionBudget p:
                Require(p.Spec?.Selector?.MatchLabels is { Count: > 0 }, "spec.selector.matchLabels is required");
                Require((p.Spec?.MinAvailable is null) != (p.Spec?.MaxUnavailable is null), "exactly one of minAvailable/maxUnavailable");
                break;
            case V2HorizontalPodAutoscaler h:
                Require(h.Spec?.ScaleTargetRef?.Name is { Length: > 0 }, "spec.scaleTargetRef.name is required");
                Require(h.Spec is not null && h.Spec.MaxReplicas >= (h.Spec.MinReplicas ?? 1), "maxReplicas < minReplicas");
                break;
            case V1NetworkPolicy n:
                Require(n.Spec?.PodSelector is not null, "spec.podSelector is required");
                break;
            case V1Role r:
                Require(r.Rules is { Count: > 0 }, "rules is required");
                foreach (var rule in r.Rules ?? [])
                {
                    Require(rule.Verbs is { Count: > 0 }, "every rule needs verbs");
                    Require(rule.Resources is { Count: > 0 } && rule.ApiGroups is { Count: > 0 }, "every rule needs apiGroups and resources (a Role has no nonResourceURLs)");
                    Require(rule.NonResourceURLs is null or { Count: 0 }, "nonResourceURLs only exist in a ClusterRole");
                }

                break;
            case V1RoleBinding b:
                Require(b.RoleRef is { ApiGroup: "rbac.authorization.k8s.io", Kind: "Role" or "ClusterRole", Name.Length: > 0 },
                    "roleRef needs apiGroup rbac.authorization.k8s.io, kind Role or ClusterRole, and a name");
                Require(b.Subjects is { Count: > 0 }, "subjects is required");
                foreach (var subject in b.Subjects ?? [])
                {
                    Require(subject.Kind is "ServiceAccount" or "User" or "Group", $"subject kind '{subject.Kind}' is not ServiceAccount, User or Group");
                    Require(subject.Kind != "ServiceAccount" || string.IsNullOrEmpty(subject.ApiGroup), $"ServiceAccount subject '{subject.Name}' must have no apiGroup");
                }

                break;
            case ServiceMonitor m:
                Require(m.Spec?.Selector is not null, "spec.selector is required");
                Require(m.Spec?.Endpoints is { Count: > 0 }, "spec.endpoints is required");
                foreach (var e in m.Spec?.Endpoints ?? [])
                {
                    Require(e.Port is not null || e.TargetPort is not null, "an endpoint needs port or targetPort");
                    Require(e.Scheme is null or "http" or "https", $"scheme '{e.Scheme}' is not http or https");
                    Require(e.Interval is null || PrometheusDuration().IsMatch(e.Interval), $"interval '{e.Interval}' is not a Prometheus duration");
                    Require(e.ScrapeTimeout is null || PrometheusDuration().IsMatch(e.ScrapeTimeout), $"scrapeTimeout '{e.ScrapeTimeout}' is not a Prometheus duration");
                }

                break;
        }
    }

    /// <summary>
    /// Selectors select, named ports exist, ConfigMap volumes name a ConfigMap that ships with them, and service accounts,
    /// bound Roles and binding subjects exist.
    /// </summary>
    public static void CheckReferences(IReadOnlyList<object> objects, List<string> errors)
    {
        var deployments = objects.OfType<V1Deployment>().ToList();
        var services = objects.OfType<V1Service>().ToList();
        List<V1Deployment> Selected(IDictionary<string, string>? selector, string? ns) =>
            deployments.Where(d => d.Metadata.NamespaceProperty == ns && selector is { Count: > 0 } && selector.All(l => d.Spec.Template.Metadata.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();

        foreach (var s in services)
        {
            var pods = Selected(s.Spec.Selector, s.Metadata.NamespaceProperty);
            if (pods.Count == 0)
            {
                errors.Add($"Service '{s.Metadata.Name}': selector selects no Deployment's pods");
            }

            foreach (var port in s.Spec.Ports)
            {
                if (port.TargetPort is { } target && pods.Any(d => !d.Spec.Template.Spec.Containers.Any(c => ResolvesInContainer(target, c))))
                {
                    errors.Add($"Service '{s.Metadata.Name}': targetPort '{target}' is not a port of the selected pods");
                }
            }
        }

        foreach (var p in objects.OfType<V1PodDisruptionBudget>())
        {
            if (Selected(p.Spec.Selector.MatchLabels, p.Metadata.NamespaceProperty).Count == 0)
            {
                errors.Add($"PodDisruptionBudget '{p.Metadata.Name}': selector selects no Deployment's pods");
            }
        }

        foreach (var n in objects.OfType<V1NetworkPolicy>())
        {
            var pods = Selected(n.Spec.PodSelector.MatchLabels, n.Metadata.NamespaceProperty);
            if (pods.Count == 0)
            {
                errors.Add($"NetworkPolicy '{n.Metadata.Name}': podSelector selects no Deployment's pods");
            }

            foreach (var port in (n.Spec.Ingress ?? []).SelectMany(i => i.Ports ?? []))
            {
                if (port.Port is { } p && pods.Any(d => !d.Spec.Template.Spec.Containers.Any(c => ResolvesInContainer(p, c))))
                {
                    errors.Add($"NetworkPolicy '{n.Metadata.Name}': port '{p}' is not a port of the selected pods");
                }
            }
        }

        foreach (var h in objects.OfType<V2HorizontalPodAutoscaler>())
        {
            if (!deployments.Any(d => d.Metadata.Name == h.Spec.ScaleTargetRef.Name && h.Spec.ScaleTargetRef.Kind == "Deployment" && d.Metadata.NamespaceProperty == h.Metadata.NamespaceProperty))
            {
                errors.Add($"HorizontalPodAutoscaler '{h.Metadata.Name}': scaleTargetRef names no Deployment");
            }
        }

        foreach (var m in objects.OfType<ServiceMonitor>())
        {
            var matched = services.Where(s => s.Metadata.NamespaceProperty == m.Metadata.NamespaceProperty && Selects(m.Spec.Selector, s.Metadata.Labels ?? new Dictionary<string, string>())).ToList();
            if (matched.Count == 0)
            {
                errors.Add($"ServiceMonitor '{m.Metadata.Name}': selector selects no Service");
            }

            foreach (var e in m.Spec.Endpoints.Where(e => e.Port is not null))
            {
                if (matched.Any(s => !s.Spec.Ports.Any(p => p.Name == e.Port)))
                {
                    errors.Add($"ServiceMonitor '{m.Metadata.Name}': port '{e.Port}' is not a named port of the selected Service");
                }
            }
        }

        var accounts = objects.OfType<V1ServiceAccount>().ToList();
        foreach (var d in deployments)
        {
            // "default" exists in every namespace; any other account must ship with the manifests, or the pod is never created.
            if (d.Spec.Template.Spec.ServiceAccountName is { Length: > 0 } account && account != "default"
                && !accounts.Any(a => a.Metadata.Name == account && a.Metadata.NamespaceProperty == d.Metadata.NamespaceProperty))
            {
                errors.Add($"Deployment '{d.Metadata.Name}': serviceAccountName '{account}' names no ServiceAccount in the manifests");
            }
        }

        foreach (var b in objects.OfType<V1RoleBinding>())
        {
            if (b.RoleRef.Kind == "Role" && !objects.OfType<V1Role>().Any(r => r.Metadata.Name == b.RoleRef.Name && r.Metadata.NamespaceProperty == b.Metadata.NamespaceProperty))
            {
                errors.Add($"RoleBinding '{b.Metadata.Name}': roleRef names Role '{b.RoleRef.Name}', which is not in the manifests (a RoleBinding can only bind a Role of its own namespace)");
            }

            foreach (var subject in (b.Subjects ?? []).Where(s => s.Kind == "ServiceAccount"))
            {
                // An empty subject namespace means the binding's own (the API server's rule).
                var ns = string.IsNullOrEmpty(subject.NamespaceProperty) ? b.Metadata.NamespaceProperty : subject.NamespaceProperty;
                if (subject.Name != "default" && !accounts.Any(a => a.Metadata.Name == subject.Name && a.Metadata.NamespaceProperty == ns))
                {
                    errors.Add($"RoleBinding '{b.Metadata.Name}': subject ServiceAccount '{ns}/{subject.Name}' is not in the manifests");
                }
            }
        }

        foreach (var d in deployments)
        {
            foreach (var v in (d.Spec.Template.Spec.Volumes ?? []).Where(v => v.ConfigMap is not null))
            {
                if (!objects.OfType<V1ConfigMap>().Any(c => c.Metadata.Name == v.ConfigMap.Name && c.Metadata.NamespaceProperty == d.Metadata.NamespaceProperty))
                {
                    errors.Add($"Deployment '{d.Metadata.Name}': volume '{v.Name}' names ConfigMap '{v.ConfigMap.Name}', which is not in the manifests");
                }
            }
        }
    }

    public static bool Selects(V1LabelSelector selector, IDictionary<string, string> labels) =>
        (selector.MatchExpressions is null || selector.MatchExpressions.Count == 0)
        && selector.MatchLabels is { Count: > 0 }
        && selector.MatchLabels.All(l => labels.TryGetValue(l.Key, out var v) && v == l.Value);

    /// <summary>A named port must be a container port name; a number must be a container port.</summary>
    public static bool ResolvesInContainer(IntOrString port, V1Container container) =>
        ContainerPort(port, container) is not null;

    public static int? ContainerPort(IntOrString port, V1Container container)
    {
        var text = port.Value;
        if (int.TryParse(text, out var number))
        {
            return container.Ports?.Any(p => p.ContainerPort == number) == true ? number : null;
        }

        return container.Ports?.FirstOrDefault(p => p.Name == text)?.ContainerPort;
    }
}
