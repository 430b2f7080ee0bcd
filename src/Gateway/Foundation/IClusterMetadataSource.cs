// A value a capability adds to each cluster's Metadata every time the gateway hands YARP a config, for state that
// changes outside the config file (e.g. the version of a cluster's TLS files). A change to it reaches YARP as a cluster
// change, so YARP asks for the cluster's client again and the pool factory can rebuild and retire the pool.
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Foundation;

internal interface IClusterMetadataSource
{
    /// <summary>The Metadata key this source sets (unique to it).</summary>
    string MetadataKey { get; }

    /// <summary>The value for <paramref name="cluster"/>, or null to leave its Metadata alone.</summary>
    string? GetValue(ClusterConfig cluster);

    /// <summary>Raised when a value changed; the gateway then hands YARP the last good config again.</summary>
    event Action? Changed;
}
