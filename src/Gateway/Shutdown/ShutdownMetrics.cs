// gateway.drain.phase and gateway.inflight.requests: read at scrape time, nothing recorded per request.
// gateway.drain.closed {kind}: what the drain ended itself (websocket, event_stream, grpc_call) or cut at its deadline (aborted).
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;

namespace Gateway.Shutdown;

internal sealed class ShutdownMetrics
{
    private readonly Counter<long> _closed;

    public ShutdownMetrics(IMeterFactory meterFactory, DrainState drain, KnownSeries knownSeries)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _closed = meter.CreateCounter<long>("gateway.drain.closed", "{stream}",
            "Open streams the drain ended cleanly (websocket: 1001 to both ends, event_stream: body ended, grpc_call: UNAVAILABLE to the client, reset upstream) and requests it aborted at its deadline (aborted).");
        knownSeries.Add(_ =>
        {
            Add(0, "websocket");
            Add(0, "event_stream");
            Add(0, "grpc_call");
            Add(0, "aborted");
        });
        meter.CreateObservableGauge("gateway.drain.phase", () => (int)drain.Phase, unit: null,
            "Shutdown phase: 0 serving, 1 readiness delay, 2 draining, 3 retiring pools, 4 stopped.");
        meter.CreateObservableUpDownCounter("gateway.inflight.requests", () => drain.InFlight, "{request}",
            "Proxied requests between arrival and the end of their response.");
    }

    public void StreamsClosed(ClosedStreams closed)
    {
        Add(closed.WebSockets, "websocket");
        Add(closed.EventStreams, "event_stream");
        Add(closed.GrpcCalls, "grpc_call");
        Add(closed.Aborted, "aborted");
    }

    public void RequestsCut(int count) => Add(count, "aborted");

    private void Add(int count, string kind) => _closed.Add(count, new TagList { { "kind", kind } });
}
