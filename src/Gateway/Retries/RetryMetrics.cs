// gateway.retries {cluster, result}; tag values are config ids or fixed strings.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;

namespace Gateway.Retries;

internal sealed class RetryMetrics
{
    public const string Attempted = "attempted";
    public const string Succeeded = "succeeded";
    public const string BudgetExhausted = "budget_exhausted";

    private readonly Counter<long> _retries;

    public RetryMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _retries = meter.CreateCounter<long>("gateway.retries", "{retry}", "Retries by cluster and result: attempted, succeeded (the retry got a response), budget_exhausted (a retry was due but the budget was empty).");
    }

    public void Retry(string cluster, string result)
    {
        var tags = new TagList { { "cluster", cluster }, { "result", result } };
        _retries.Add(1, tags);
    }
}
