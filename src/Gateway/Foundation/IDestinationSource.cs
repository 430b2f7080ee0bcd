// Destinations a capability supplies for a cluster (e.g. discovered pods), added to the cluster's static Destinations
// each time the gateway hands YARP a config. Gap: YARP's IDestinationResolver sees a cluster's destinations but not
// the cluster or its blocks, so it cannot serve a per-cluster Discovery block.
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Foundation;

internal interface IDestinationSource
{
    /// <summary>The destinations to add to <paramref name="cluster"/>, by destination id, or null when this source has none for it.</summary>
    IReadOnlyDictionary<string, DestinationConfig>? GetDestinations(ClusterConfig cluster);

    /// <summary>
    /// Whether <paramref name="destinationId"/> is in the set this source supplies to <paramref name="clusterId"/>.
    /// Only reads (<see cref="GetDestinations"/> may start or restart serving a cluster).
    /// </summary>
    bool Supplies(string clusterId, string destinationId);

    /// <summary>After each applied config, with all of its clusters: a source stops serving clusters no longer there.</summary>
    void ClustersApplied(IReadOnlyList<ClusterConfig> clusters);

    /// <summary>Raised when a set changed; the gateway then hands YARP the last good config with the new sets.</summary>
    event Action? Changed;
}
