// Wraps each of YARP's availability policies (HealthyAndUnknown, HealthyOrPanic, any other registered) so that a
// destination ejected at the socket (SocketEjection) leaves the rotation whatever the cluster's health-check settings.
// Runs when YARP recomputes a cluster's available destinations (a health change, a config change), not per request.
// (YARP 2.3 spells the interface's method GetAvailalableDestinations.)
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Gateway.PassiveHealth;

internal sealed class SocketAwareDestinationsPolicy(IAvailableDestinationsPolicy inner, SocketEjection ejection) : IAvailableDestinationsPolicy
{
    public string Name => inner.Name;

    public IReadOnlyList<DestinationState> GetAvailalableDestinations(ClusterConfig config, IReadOnlyList<DestinationState> allDestinations)
    {
        var available = inner.GetAvailalableDestinations(config, allDestinations);
        if (!ejection.AnyEjected)
        {
            return available;
        }

        List<DestinationState>? kept = null;
        for (var i = 0; i < available.Count; i++)
        {
            var destination = available[i];
            if (ejection.IsEjected(destination))
            {
                if (kept is null)
                {
                    kept = new List<DestinationState>(available.Count);
                    for (var j = 0; j < i; j++)
                    {
                        kept.Add(available[j]);
                    }
                }
            }
            else
            {
                kept?.Add(destination);
            }
        }

        // Never a full outage by ejection: when every available destination refused, they all stay (as HealthyOrPanic).
        return kept is null || kept.Count == 0 ? available : kept;
    }
}
