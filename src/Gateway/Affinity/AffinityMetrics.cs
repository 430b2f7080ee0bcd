// gateway.affinity.outcomes {cluster, outcome} and gateway.destination.draining {cluster, destination}.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Observability;
using Yarp.ReverseProxy;

namespace Gateway.Affinity;

internal sealed class AffinityMetrics
{
    public const string Pinned = "pinned";
    public const string New = "new";
    public const string Redistributed = "redistributed";
    public const string Failed = "failed";

    private readonly Counter<long> _outcomes;

    // IServiceProvider, not IProxyStateLookup: YARP's config validator needs the failure policies, which need this class,
    // and the proxy state needs the validator; resolving it at scrape time breaks that cycle.
    public AffinityMetrics(IMeterFactory meterFactory, DestinationDrain drain, IServiceProvider services)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _outcomes = meter.CreateCounter<long>(
            "gateway.affinity.outcomes",
            "{request}",
            "Requests to clusters with session affinity: pinned (cookie honoured), new (no cookie: new pin), redistributed (cookie not honoured: new pin), failed (answered 503 by the Return503Error policy).");
        meter.CreateObservableGauge(
            "gateway.destination.draining",
            () => ObserveDraining(drain, services.GetRequiredService<IProxyStateLookup>()),
            "{destination}",
            "1 while a destination is marked draining through the admin API (keeps its pinned sessions, takes no new ones), else 0.");
    }

    public void Outcome(string clusterId, string outcome)
    {
        if (_outcomes.Enabled)
        {
            _outcomes.Add(1, new TagList { { "cluster", clusterId }, { "outcome", outcome } });
        }
    }

    // Every configured destination reports 0 or 1, so dashboards see the series before the first drain.
    private static IEnumerable<Measurement<int>> ObserveDraining(DestinationDrain drain, IProxyStateLookup proxyState)
    {
        foreach (var cluster in proxyState.GetClusters())
        {
            foreach (var destination in cluster.Destinations.Values)
            {
                yield return new Measurement<int>(
                    drain.IsDraining(cluster.ClusterId, destination.DestinationId) ? 1 : 0,
                    new KeyValuePair<string, object?>("cluster", cluster.ClusterId),
                    new KeyValuePair<string, object?>("destination", destination.DestinationId));
            }
        }
    }
}
