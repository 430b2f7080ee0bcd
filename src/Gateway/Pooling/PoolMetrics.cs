// Pool figures as observable instruments: read at scrape time, nothing recorded per request.
using System.Diagnostics.Metrics;
using Gateway.Foundation;

namespace Gateway.Pooling;

internal sealed class PoolMetrics
{
    public PoolMetrics(IMeterFactory meterFactory, ClusterPools pools)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        meter.CreateObservableCounter("gateway.pool.connections.opened", () => Observe(pools, static s => s.ConnectionsOpened), "{connection}", "Upstream TCP connections opened, per cluster.");
        meter.CreateObservableUpDownCounter("gateway.pool.connections.open", () => Observe(pools, static s => s.ConnectionsOpen), "{connection}", "Upstream TCP connections open now, per cluster.");
        meter.CreateObservableCounter("gateway.pool.requests", () => Observe(pools, static s => s.Requests), "{request}", "Requests sent upstream, per cluster; divide by connections opened for the reuse ratio.");
    }

    private static IEnumerable<Measurement<long>> Observe(ClusterPools pools, Func<PoolStats, long> read)
    {
        foreach (var (cluster, stats) in pools.AllStats)
        {
            yield return new Measurement<long>(read(stats), new KeyValuePair<string, object?>("cluster", cluster));
        }
    }
}
