// gateway.access_log.written / gateway.access_log.dropped: lines, no tags.
using System.Diagnostics.Metrics;
using Gateway.Foundation;

namespace Gateway.AccessLog;

internal sealed class AccessLogMetrics
{
    private readonly Counter<long> _written;
    private readonly Counter<long> _dropped;

    public AccessLogMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _written = meter.CreateCounter<long>("gateway.access_log.written", "{line}", "Access-log lines written to stdout.");
        _dropped = meter.CreateCounter<long>("gateway.access_log.dropped", "{line}", "Access-log lines dropped: the buffer was full (stdout slower than the traffic) or stdout failed.");
    }

    /// <summary>Both series from the start, so a rate() over them works before the first drop.</summary>
    public void Publish()
    {
        _written.Add(0);
        _dropped.Add(0);
    }

    public void Written(int lines) => _written.Add(lines);

    public void Dropped(int lines) => _dropped.Add(lines);
}
