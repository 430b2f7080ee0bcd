// One cluster's discovery: its provider, and the destinations, conditions and drain marks of the last set it published.
using System.Collections.Frozen;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace Gateway.Discovery;

internal sealed class ClusterDiscovery(string clusterId, string settingsKey, PublishedSet? previous = null)
{
    private readonly Lock _gate = new();

    public string ClusterId { get; } = clusterId;

    /// <summary>The cluster's captured Discovery block and defaults: a change restarts the provider.</summary>
    public string SettingsKey { get; } = settingsKey;

    public IEndpointDiscovery? Provider { get; set; }

    /// <summary>Why no provider runs (e.g. no Kubernetes credentials), or null.</summary>
    public string? StartError { get; set; }

    public PublishedSet Current { get; private set; } = previous ?? PublishedSet.Empty;

    /// <summary>
    /// Takes a new set; returns the endpoints that left YARP's rotation (id, address). An endpoint removed while
    /// draining stays marked draining until YARP has dropped it (<see cref="ForgetRemoved"/>), so it never comes back
    /// into rotation for the moment between the two.
    /// </summary>
    public List<(string Id, string Address)> Publish(IReadOnlyList<DiscoveredEndpoint> endpoints)
    {
        lock (_gate)
        {
            var destinations = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase);
            var conditions = new Dictionary<string, EndpointCondition>(StringComparer.OrdinalIgnoreCase);
            var draining = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var endpoint in endpoints)
            {
                conditions[endpoint.Id] = endpoint.Condition;
                if (endpoint.Condition == EndpointCondition.NotReady)
                {
                    continue;
                }

                destinations[endpoint.Id] = new DestinationConfig { Address = endpoint.Address };
                if (endpoint.Condition == EndpointCondition.Draining)
                {
                    draining.Add(endpoint.Id);
                }
            }

            var previous = Current;
            var removed = new List<(string, string)>();
            foreach (var (id, destination) in previous.Destinations)
            {
                if (!destinations.ContainsKey(id))
                {
                    removed.Add((id, destination.Address));
                    if (previous.Draining.Contains(id))
                    {
                        draining.Add(id);
                    }
                }
            }

            Current = new PublishedSet(destinations, conditions.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase), draining.ToFrozenSet(StringComparer.OrdinalIgnoreCase));
            return removed;
        }
    }

    /// <summary>Drops drain marks of endpoints YARP no longer has; returns whether any went.</summary>
    public bool ForgetRemoved(IReadOnlyDictionary<string, DestinationState> inYarp)
    {
        lock (_gate)
        {
            var current = Current;
            var kept = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var id in current.Draining)
            {
                if (current.Destinations.ContainsKey(id) || inYarp.ContainsKey(id))
                {
                    kept.Add(id);
                }
            }

            if (kept.Count == current.Draining.Count)
            {
                return false;
            }

            Current = current with { Draining = kept.ToFrozenSet(StringComparer.OrdinalIgnoreCase) };
            return true;
        }
    }
}

/// <summary>What a cluster's discovery last published: YARP's destinations, every endpoint's condition, and which drain.</summary>
internal sealed record PublishedSet(
    IReadOnlyDictionary<string, DestinationConfig> Destinations,
    FrozenDictionary<string, EndpointCondition> Conditions,
    FrozenSet<string> Draining)
{
    public static readonly PublishedSet Empty = new(
        new Dictionary<string, DestinationConfig>(),
        FrozenDictionary<string, EndpointCondition>.Empty,
        FrozenSet<string>.Empty);
}
