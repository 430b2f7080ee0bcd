// Turns a captured entry into one JSON line (UTF-8, '\n'-terminated), on the writer's thread. Absent values (no route,
// not gRPC, nothing sent upstream) leave their key out; credentials never reach an entry.
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Gateway.AccessLog;

internal sealed class AccessLogFormatter : IDisposable
{
    private static readonly JsonEncodedText TimeKey = AccessLogFields.Key(AccessLogField.Time);
    private static readonly JsonEncodedText ClientKey = AccessLogFields.Key(AccessLogField.Client);
    private static readonly JsonEncodedText MethodKey = AccessLogFields.Key(AccessLogField.Method);
    private static readonly JsonEncodedText HostKey = AccessLogFields.Key(AccessLogField.Host);
    private static readonly JsonEncodedText PathKey = AccessLogFields.Key(AccessLogField.Path);
    private static readonly JsonEncodedText ProtocolKey = AccessLogFields.Key(AccessLogField.Protocol);
    private static readonly JsonEncodedText StatusKey = AccessLogFields.Key(AccessLogField.Status);
    private static readonly JsonEncodedText GrpcStatusKey = AccessLogFields.Key(AccessLogField.GrpcStatus);
    private static readonly JsonEncodedText BytesInKey = AccessLogFields.Key(AccessLogField.BytesIn);
    private static readonly JsonEncodedText BytesOutKey = AccessLogFields.Key(AccessLogField.BytesOut);
    private static readonly JsonEncodedText DurationKey = AccessLogFields.Key(AccessLogField.Duration);
    private static readonly JsonEncodedText UpstreamKey = AccessLogFields.Key(AccessLogField.UpstreamDuration);
    private static readonly JsonEncodedText RouteKey = AccessLogFields.Key(AccessLogField.Route);
    private static readonly JsonEncodedText ClusterKey = AccessLogFields.Key(AccessLogField.Cluster);
    private static readonly JsonEncodedText DestinationKey = AccessLogFields.Key(AccessLogField.Destination);
    private static readonly JsonEncodedText AttemptsKey = AccessLogFields.Key(AccessLogField.Attempts);
    private static readonly JsonEncodedText AffinityKey = AccessLogFields.Key(AccessLogField.Affinity);
    private static readonly JsonEncodedText RateLimitKey = AccessLogFields.Key(AccessLogField.RateLimit);
    private static readonly JsonEncodedText RateLimitPolicyKey = AccessLogFields.Key(AccessLogField.RateLimitPolicy);
    private static readonly JsonEncodedText ErrorKey = AccessLogFields.Key(AccessLogField.Error);
    private static readonly JsonEncodedText AbortedKey = AccessLogFields.Key(AccessLogField.Aborted);
    private static readonly JsonEncodedText TraceIdKey = AccessLogFields.Key(AccessLogField.TraceId);
    private static readonly JsonEncodedText SpanIdKey = AccessLogFields.Key(AccessLogField.SpanId);
    private static readonly JsonEncodedText HeadersKey = JsonEncodedText.Encode("headers");
    private static readonly JsonEncodedText Allowed = JsonEncodedText.Encode("allowed");
    private static readonly JsonEncodedText Rejected = JsonEncodedText.Encode("rejected");

    // Relaxed escaping keeps paths and queries readable ('&', '+', non-ASCII as they are); quotes, backslashes and
    // control characters are still escaped, so a request can never end a line or forge a field.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private readonly IBufferWriter<byte> _output;
    private readonly Utf8JsonWriter _json;

    public AccessLogFormatter(IBufferWriter<byte> output)
    {
        _output = output;
        _json = new Utf8JsonWriter(output, WriterOptions);
    }

    public void Write(AccessLogEntry e)
    {
        var s = e.Settings;
        var json = _json;
        json.Reset(_output);
        json.WriteStartObject();
        if (s.Has(AccessLogField.Time))
        {
            Span<byte> time = stackalloc byte[24];
            json.WriteString(TimeKey, FormatTime(e.Time.UtcDateTime, time));
        }

        if (s.Has(AccessLogField.Client) && e.Client is { } client)
        {
            if (client.IsIPv4MappedToIPv6)
            {
                client = client.MapToIPv4();
            }

            Span<char> address = stackalloc char[64];
            if (client.TryFormat(address, out var length))
            {
                json.WriteString(ClientKey, address[..length]);
            }
        }

        WriteString(s, AccessLogField.Method, MethodKey, e.Method);
        WriteString(s, AccessLogField.Host, HostKey, e.Host);
        if (s.Has(AccessLogField.Path) && e.Path is not null)
        {
            if (string.IsNullOrEmpty(e.Query))
            {
                json.WriteString(PathKey, e.Path);
            }
            else
            {
                json.WriteString(PathKey, string.Concat(e.Path, e.Query));
            }
        }

        WriteString(s, AccessLogField.Protocol, ProtocolKey, e.Protocol);
        if (s.Has(AccessLogField.Status))
        {
            json.WriteNumber(StatusKey, e.Status);
        }

        WriteString(s, AccessLogField.GrpcStatus, GrpcStatusKey, e.GrpcStatus);
        if (s.Has(AccessLogField.BytesIn) && e.BytesIn >= 0)
        {
            json.WriteNumber(BytesInKey, e.BytesIn);
        }

        if (s.Has(AccessLogField.BytesOut) && e.BytesOut >= 0)
        {
            json.WriteNumber(BytesOutKey, e.BytesOut);
        }

        if (s.Has(AccessLogField.Duration))
        {
            WriteMilliseconds(DurationKey, e.DurationTicks);
        }

        if (s.Has(AccessLogField.UpstreamDuration) && e.UpstreamTicks >= 0)
        {
            WriteMilliseconds(UpstreamKey, e.UpstreamTicks);
        }

        WriteString(s, AccessLogField.Route, RouteKey, e.Route);
        WriteString(s, AccessLogField.Cluster, ClusterKey, e.Cluster);
        WriteString(s, AccessLogField.Destination, DestinationKey, e.Destination);
        if (s.Has(AccessLogField.Attempts) && e.Proxied)
        {
            json.WriteNumber(AttemptsKey, e.Attempts);
        }

        WriteString(s, AccessLogField.Affinity, AffinityKey, e.AffinityOutcome);
        if (e.RateLimitPolicy is not null)
        {
            if (s.Has(AccessLogField.RateLimit))
            {
                json.WriteString(RateLimitKey, e.RateLimited ? Rejected : Allowed);
            }

            WriteString(s, AccessLogField.RateLimitPolicy, RateLimitPolicyKey, e.RateLimitPolicy);
        }

        WriteString(s, AccessLogField.Error, ErrorKey, e.Error);
        if (s.Has(AccessLogField.Aborted) && e.Aborted)
        {
            json.WriteBoolean(AbortedKey, true);
        }

        if (e.HasTrace)
        {
            if (s.Has(AccessLogField.TraceId))
            {
                json.WriteString(TraceIdKey, e.TraceId.ToHexString());
            }

            if (s.Has(AccessLogField.SpanId))
            {
                json.WriteString(SpanIdKey, e.SpanId.ToHexString());
            }
        }

        WriteHeaders(e);
        json.WriteEndObject();
        json.Flush();
        _output.Write("\n"u8);
    }

    private void WriteString(AccessLogSettings s, AccessLogField field, JsonEncodedText key, string? value)
    {
        if (value is not null && s.Has(field))
        {
            _json.WriteString(key, value);
        }
    }

    private void WriteHeaders(AccessLogEntry e)
    {
        if (e.Headers is not { } values)
        {
            return;
        }

        var started = false;
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i].Count == 0)
            {
                continue;
            }

            if (!started)
            {
                _json.WriteStartObject(HeadersKey);
                started = true;
            }

            _json.WriteString(e.Settings.HeaderKeys[i], values[i].ToString());
        }

        if (started)
        {
            _json.WriteEndObject();
        }
    }

    public void Dispose() => _json.Dispose();

    /// <summary>
    /// Milliseconds with three decimals (microseconds), written as digits: a double's shortest round-trip formatting
    /// costs several times more, on every line.
    /// </summary>
    private void WriteMilliseconds(JsonEncodedText key, long stopwatchTicks)
    {
        var micros = (long)(stopwatchTicks * (1_000_000.0 / Stopwatch.Frequency));
        Span<byte> digits = stackalloc byte[24];
        micros.TryFormat(digits, out var length, default, CultureInfo.InvariantCulture);
        // "1234567" -> "1234.567"; "42" -> "0.042".
        Span<byte> number = stackalloc byte[26];
        var integer = Math.Max(0, length - 3);
        var written = 0;
        if (integer == 0)
        {
            number[written++] = (byte)'0';
        }
        else
        {
            digits[..integer].CopyTo(number);
            written = integer;
        }

        number[written++] = (byte)'.';
        for (var pad = length; pad < 3; pad++)
        {
            number[written++] = (byte)'0';
        }

        digits[integer..length].CopyTo(number[written..]);
        written += length - integer;
        _json.WritePropertyName(key);
        _json.WriteRawValue(number[..written], skipInputValidation: true);
    }

    /// <summary>ISO 8601, UTC, milliseconds ("2026-12-02T00:53:22.789Z"), written as digits: a custom format string is parsed on every call.</summary>
    private static ReadOnlySpan<byte> FormatTime(DateTime utc, Span<byte> buffer)
    {
        var (year, month, day) = utc;
        Digits(buffer[..4], year);
        buffer[4] = (byte)'-';
        Digits(buffer.Slice(5, 2), month);
        buffer[7] = (byte)'-';
        Digits(buffer.Slice(8, 2), day);
        buffer[10] = (byte)'T';
        Digits(buffer.Slice(11, 2), utc.Hour);
        buffer[13] = (byte)':';
        Digits(buffer.Slice(14, 2), utc.Minute);
        buffer[16] = (byte)':';
        Digits(buffer.Slice(17, 2), utc.Second);
        buffer[19] = (byte)'.';
        Digits(buffer.Slice(20, 3), utc.Millisecond);
        buffer[23] = (byte)'Z';
        return buffer[..24];
    }

    private static void Digits(Span<byte> destination, int value)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }
}
