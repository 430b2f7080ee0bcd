// gateway.affinity.outcomes {cluster, outcome}. Every outcome exists at 0 for each cluster with session affinity, from
// start or from the moment the cluster appears.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy;

namespace Gateway.Affinity;

internal sealed class AffinityMetrics
{
    public const string Pinned = "pinned";
    public const string New = "new";
    public const string Redistributed = "redistributed";
    public const string Failed = "failed";

    private static readonly string[] Outcomes = [Pinned, New, Redistributed, Failed];

    private readonly Counter<long> _outcomes;

    public AffinityMetrics(IMeterFactory meterFactory, KnownSeries knownSeries)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _outcomes = meter.CreateCounter<long>(
            "gateway.affinity.outcomes",
            "{request}",
            "Requests to clusters with session affinity: pinned (cookie honoured), new (no cookie: new pin), redistributed (cookie not honoured: new pin), failed (answered 503 by the Return503Error policy).");
        knownSeries.Add(Seed);
    }

    public void Outcome(string clusterId, string outcome)
    {
        if (_outcomes.Enabled)
        {
            _outcomes.Add(1, new TagList { { "cluster", clusterId }, { "outcome", outcome } });
        }
    }

    private void Seed(IProxyStateLookup state)
    {
        foreach (var cluster in state.GetClusters())
        {
            if (cluster.Model.Config.SessionAffinity is { Enabled: true })
            {
                foreach (var outcome in Outcomes)
                {
                    _outcomes.Add(0, new TagList { { "cluster", cluster.ClusterId }, { "outcome", outcome } });
                }
            }
        }
    }
}
