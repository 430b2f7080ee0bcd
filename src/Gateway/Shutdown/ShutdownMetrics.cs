// gateway.drain.phase and gateway.inflight.requests: read at scrape time, nothing recorded per request.
using System.Diagnostics.Metrics;
using Gateway.Foundation;

namespace Gateway.Shutdown;

internal sealed class ShutdownMetrics
{
    public ShutdownMetrics(IMeterFactory meterFactory, DrainState drain)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        meter.CreateObservableGauge("gateway.drain.phase", () => (int)drain.Phase, unit: null,
            "Shutdown phase: 0 serving, 1 readiness delay, 2 draining, 3 retiring pools, 4 stopped.");
        meter.CreateObservableUpDownCounter("gateway.inflight.requests", () => drain.InFlight, "{request}",
            "Proxied requests between arrival and the end of their response.");
    }
}
