// gateway.retries {cluster, result}; tag values are config ids or fixed strings. Every result exists at 0 for each
// cluster that retries, from start or from the moment the cluster appears.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy;

namespace Gateway.Retries;

internal sealed class RetryMetrics
{
    public const string Attempted = "attempted";
    public const string Succeeded = "succeeded";
    public const string BudgetExhausted = "budget_exhausted";

    private readonly Counter<long> _retries;

    public RetryMetrics(IMeterFactory meterFactory, KnownSeries knownSeries)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _retries = meter.CreateCounter<long>("gateway.retries", "{retry}", "Retries by cluster and result: attempted, succeeded (the retry got a response), budget_exhausted (a retry was due but the budget was empty).");
        knownSeries.Add(Seed);
    }

    public void Retry(string cluster, string result)
    {
        var tags = new TagList { { "cluster", cluster }, { "result", result } };
        _retries.Add(1, tags);
    }

    private void Seed(IProxyStateLookup state)
    {
        foreach (var cluster in state.GetClusters())
        {
            var block = RetryOptions.Block.Get(cluster.Model.Config.Metadata);
            if (RetrySettings.Resolve(block.Own, block.Defaults).Enabled)
            {
                _retries.Add(0, new TagList { { "cluster", cluster.ClusterId }, { "result", Attempted } });
                _retries.Add(0, new TagList { { "cluster", cluster.ClusterId }, { "result", Succeeded } });
                _retries.Add(0, new TagList { { "cluster", cluster.ClusterId }, { "result", BudgetExhausted } });
            }
        }
    }
}
