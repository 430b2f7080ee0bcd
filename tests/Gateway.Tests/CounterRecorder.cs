using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Gateway.Tests;

/// <summary>
/// Sums one counter of one gateway instance (instruments are matched by the meter's scope, the instance's
/// IMeterFactory), by the value of one tag, so tests running in parallel never see each other's measurements.
/// </summary>
internal sealed class CounterRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _byTag = new(StringComparer.Ordinal);

    public CounterRecorder(IMeterFactory scope, string instrumentName, string tag)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, scope) && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var pair in tags)
            {
                if (pair.Key == tag)
                {
                    _byTag.AddOrUpdate(pair.Value?.ToString() ?? string.Empty, value, (_, sum) => sum + value);
                }
            }
        });
        _listener.Start();
    }

    public long this[string tagValue] => _byTag.GetValueOrDefault(tagValue);

    public long Total => _byTag.Values.Sum();

    public void Dispose() => _listener.Dispose();
}
