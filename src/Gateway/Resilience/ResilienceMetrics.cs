// gateway.retries {cluster, result} and gateway.ejections {cluster, destination}; tag values are config ids.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Observability;

namespace Gateway.Resilience;

internal sealed class ResilienceMetrics
{
    public const string Attempted = "attempted";
    public const string Succeeded = "succeeded";
    public const string BudgetExhausted = "budget_exhausted";

    private readonly Counter<long> _retries;
    private readonly Counter<long> _ejections;

    public ResilienceMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _retries = meter.CreateCounter<long>("gateway.retries", "{retry}", "Retries by cluster and result: attempted, succeeded (the retry got a response), budget_exhausted (a retry was due but the budget was empty).");
        _ejections = meter.CreateCounter<long>("gateway.ejections", "{ejection}", "Destinations taken out of rotation by the passive ConsecutiveFailures policy.");
    }

    public void Retry(string cluster, string result)
    {
        var tags = new TagList { { "cluster", cluster }, { "result", result } };
        _retries.Add(1, tags);
    }

    public void Ejected(string cluster, string destination)
    {
        var tags = new TagList { { "cluster", cluster }, { "destination", destination } };
        _ejections.Add(1, tags);
    }
}
