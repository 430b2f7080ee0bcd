using System.Globalization;
using System.Net;
using k8s.Models;

namespace Gateway.Discovery;

/// <summary>What to watch: the EndpointSlices of one Service, one port of it (its name, or its number when given as digits).</summary>
internal sealed record KubernetesDiscoveryTarget(string Namespace, string Service, string Port, string Scheme = "http", string? Cluster = null)
{
    public string LabelSelector => "kubernetes.io/service-name=" + Service;

    public int? PortNumber => int.TryParse(Port, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

    /// <summary>What is watched, and for which cluster: every log line of the watcher names both.</summary>
    public override string ToString() => Cluster is null ? $"{Namespace}/{Service}:{Port}" : $"{Namespace}/{Service}:{Port} (cluster '{Cluster}')";
}

/// <summary>The merged endpoint set of a Service's slices, or why there is none to apply.</summary>
internal sealed record EndpointSliceMapping(IReadOnlyList<DiscoveredEndpoint> Endpoints, string? Error, int SliceCount);

/// <summary>Merges all EndpointSlices of a Service into one endpoint set: one endpoint per address per matching port.</summary>
internal static class EndpointSliceMapper
{
    public static EndpointSliceMapping Map(IEnumerable<V1EndpointSlice> slices, KubernetesDiscoveryTarget target)
    {
        var byAddress = new Dictionary<string, (string? Pod, string Address, EndpointCondition Condition)>(StringComparer.Ordinal);
        var sliceCount = 0;
        var unmatchedEndpoints = 0;
        var portsSeen = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var slice in slices.OrderBy(s => s.Metadata?.Name, StringComparer.Ordinal))
        {
            sliceCount++;
            var endpoints = slice.Endpoints ?? [];
            var port = slice.Ports?.FirstOrDefault(p => Matches(p, target));
            if (port?.Port is not { } number)
            {
                unmatchedEndpoints += endpoints.Count;
                foreach (var p in slice.Ports ?? [])
                {
                    portsSeen.Add(Describe(p));
                }

                continue;
            }

            foreach (var endpoint in endpoints)
            {
                var condition = ConditionOf(endpoint.Conditions);
                foreach (var address in endpoint.Addresses ?? [])
                {
                    var hostPort = HostPort(address, number);
                    // An endpoint can sit in two slices for a moment while the controller moves it; keep its best condition.
                    if (!byAddress.TryGetValue(hostPort, out var existing) || condition < existing.Condition)
                    {
                        var pod = string.Equals(endpoint.TargetRef?.Kind, "Pod", StringComparison.Ordinal) ? endpoint.TargetRef?.Name : null;
                        byAddress[hostPort] = (pod, address, condition);
                    }
                }
            }
        }

        if (byAddress.Count == 0 && unmatchedEndpoints > 0)
        {
            var kind = target.PortNumber is null ? "named" : "numbered";
            var seen = portsSeen.Count == 0 ? "none" : string.Join(", ", portsSeen);
            return new EndpointSliceMapping([],
                $"service {target.Namespace}/{target.Service} has no port {kind} '{target.Port}' (its EndpointSlices have: {seen}); "
                + $"{unmatchedEndpoints} endpoints left out, the set is not applied",
                sliceCount);
        }

        // The id is the pod name; a pod with several addresses (dual-stack slices) gets one id per address.
        var podCounts = byAddress.Values.Where(v => v.Pod is not null).GroupBy(v => v.Pod!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var result = byAddress
            .Select(kv => new DiscoveredEndpoint(
                kv.Value.Pod is { } pod ? (podCounts[pod] == 1 ? pod : pod + "@" + kv.Key) : kv.Key,
                target.Scheme + "://" + kv.Key,
                kv.Value.Condition,
                DiscoveredEndpoint.KubernetesSource))
            .OrderBy(e => e.Id, StringComparer.Ordinal)
            .ToList();
        return new EndpointSliceMapping(result, null, sliceCount);
    }

    /// <summary>
    /// ready → Ready; terminating and still serving → Draining; anything else → NotReady. The API says a missing ready means
    /// ready, a missing serving means the same as ready, and a missing terminating means not terminating.
    /// </summary>
    public static EndpointCondition ConditionOf(V1EndpointConditions? conditions)
    {
        var ready = conditions?.Ready ?? true;
        var serving = conditions?.Serving ?? ready;
        var terminating = conditions?.Terminating ?? false;
        if (terminating)
        {
            return serving ? EndpointCondition.Draining : EndpointCondition.NotReady;
        }

        return ready ? EndpointCondition.Ready : EndpointCondition.NotReady;
    }

    private static bool Matches(Discoveryv1EndpointPort port, KubernetesDiscoveryTarget target) =>
        target.PortNumber is { } number ? port.Port == number : string.Equals(port.Name ?? string.Empty, target.Port, StringComparison.Ordinal);

    private static string Describe(Discoveryv1EndpointPort port) =>
        string.IsNullOrEmpty(port.Name) ? $"{port.Port}" : $"{port.Name}={port.Port}";

    /// <summary><c>10.0.0.5:8080</c>, <c>[fd00::5]:8080</c>, or <c>host.example:8080</c> for FQDN slices.</summary>
    internal static string HostPort(string address, int port) =>
        IPAddress.TryParse(address, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{ip}]:{port.ToString(CultureInfo.InvariantCulture)}"
            : $"{address}:{port.ToString(CultureInfo.InvariantCulture)}";
}
