// gateway.affinity.outcomes {cluster, outcome}.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;

namespace Gateway.Affinity;

internal sealed class AffinityMetrics
{
    public const string Pinned = "pinned";
    public const string New = "new";
    public const string Redistributed = "redistributed";
    public const string Failed = "failed";

    private readonly Counter<long> _outcomes;

    public AffinityMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _outcomes = meter.CreateCounter<long>(
            "gateway.affinity.outcomes",
            "{request}",
            "Requests to clusters with session affinity: pinned (cookie honoured), new (no cookie: new pin), redistributed (cookie not honoured: new pin), failed (answered 503 by the Return503Error policy).");
    }

    public void Outcome(string clusterId, string outcome)
    {
        if (_outcomes.Enabled)
        {
            _outcomes.Add(1, new TagList { { "cluster", clusterId }, { "outcome", outcome } });
        }
    }
}
