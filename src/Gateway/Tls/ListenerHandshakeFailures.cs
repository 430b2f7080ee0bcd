// Counts failed listener handshakes by reason, from Kestrel's own kestrel.tls_handshake.duration measurements (its
// handshake fails inside Kestrel's middleware, which then only logs at Debug). The reason is the exception's type,
// mapped to a short fixed set, so the label stays bounded.
using System.Diagnostics.Metrics;

namespace Gateway.Tls;

internal sealed class ListenerHandshakeFailures : IDisposable
{
    private const string KestrelMeter = "Microsoft.AspNetCore.Server.Kestrel";
    private const string HandshakeDuration = "kestrel.tls_handshake.duration";

    private readonly TlsMetrics _metrics;
    private readonly MeterListener _listener = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> _listenersByPort = new();

    public ListenerHandshakeFailures(TlsMetrics metrics)
    {
        _metrics = metrics;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == KestrelMeter && instrument.Name == HandshakeDuration)
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<double>(static (_, _, tags, state) => ((ListenerHandshakeFailures)state!).Record(tags));
        _listener.Start();
    }

    /// <summary>Names the listener on <paramref name="port"/> in the counter (Kestrel tags the local port).</summary>
    public void Listening(int port, string listener) => _listenersByPort[port] = listener;

    private void Record(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? error = null;
        var port = -1;
        foreach (var (key, value) in tags)
        {
            if (key is "error.type" or "exception-name")
            {
                error = value as string;
            }
            else if (key == "server.port" && value is int p)
            {
                port = p;
            }
        }

        if (error is not null && _listenersByPort.TryGetValue(port, out var listener))
        {
            _metrics.ListenerHandshakeFailed(listener, Reason(error));
        }
    }

    public static readonly string[] Reasons = ["timeout", "authentication", "io", "other"];

    /// <summary>A bounded reason: timeout, authentication (no common protocol or cipher, no certificate for the name, bad client hello), io (the client left), other.</summary>
    public static string Reason(string errorType) => errorType switch
    {
        _ when errorType.EndsWith("OperationCanceledException", StringComparison.Ordinal) || errorType.EndsWith("TimeoutException", StringComparison.Ordinal) => "timeout",
        _ when errorType.EndsWith("AuthenticationException", StringComparison.Ordinal) => "authentication",
        _ when errorType.EndsWith("IOException", StringComparison.Ordinal) || errorType.EndsWith("SocketException", StringComparison.Ordinal) => "io",
        "tls_handshake_failed" => "authentication",
        _ => "other",
    };

    public void Dispose() => _listener.Dispose();
}
