// gateway.circuit_open {cluster}: requests the breaker answered 503, at 0 from start (or from the moment the cluster
// appears) for each cluster with a limit. gateway.circuit.requests {cluster, state}: read when Prometheus scrapes,
// the requests holding a place (active) and waiting for one (pending). Tag values are config ids or fixed strings.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy;

namespace Gateway.CircuitBreaker;

internal sealed class CircuitBreakerMetrics
{
    private readonly Counter<long> _open;
    private readonly CircuitBreakers _breakers;

    public CircuitBreakerMetrics(IMeterFactory meterFactory, KnownSeries knownSeries, CircuitBreakers breakers, IProxyStateLookup proxyState)
    {
        _breakers = breakers;
        var meter = meterFactory.Create(GatewayMeter.Name);
        _open = meter.CreateCounter<long>("gateway.circuit_open", "{request}", "Requests answered 503 circuit_open: the cluster's MaxConcurrentRequests were in flight and its MaxPendingRequests waiting.");
        meter.CreateObservableGauge("gateway.circuit.requests", () => Observe(proxyState), "{request}",
            "Requests of clusters with a circuit breaker: holding a place (state=active) and waiting for one (state=pending).");
        knownSeries.Add(Seed);
    }

    public void Rejected(string cluster)
    {
        var tags = new TagList { { "cluster", cluster } };
        _open.Add(1, tags);
    }

    private void Seed(IProxyStateLookup state)
    {
        foreach (var cluster in state.GetClusters())
        {
            if (_breakers.For(cluster.Model) is not null)
            {
                _open.Add(0, new TagList { { "cluster", cluster.ClusterId } });
            }
        }
    }

    private IEnumerable<Measurement<int>> Observe(IProxyStateLookup state)
    {
        foreach (var cluster in state.GetClusters())
        {
            if (_breakers.For(cluster.Model) is { } breaker)
            {
                var id = new KeyValuePair<string, object?>("cluster", cluster.ClusterId);
                yield return new Measurement<int>(breaker.Active, id, new KeyValuePair<string, object?>("state", "active"));
                yield return new Measurement<int>(breaker.Pending, id, new KeyValuePair<string, object?>("state", "pending"));
            }
        }
    }
}
