// The fields of an access-log line, by the JSON name a user lists in Gateway:AccessLog:Fields.
using System.Text.Json;

namespace Gateway.AccessLog;

[Flags]
internal enum AccessLogField : long
{
    None = 0,
    Time = 1L << 0,
    Client = 1L << 1,
    Method = 1L << 2,
    Host = 1L << 3,
    Path = 1L << 4,
    Protocol = 1L << 5,
    Status = 1L << 6,
    GrpcStatus = 1L << 7,
    BytesIn = 1L << 8,
    BytesOut = 1L << 9,
    Duration = 1L << 10,
    UpstreamDuration = 1L << 11,
    Route = 1L << 12,
    Cluster = 1L << 13,
    Destination = 1L << 14,
    Attempts = 1L << 15,
    Affinity = 1L << 16,
    RateLimit = 1L << 17,
    RateLimitPolicy = 1L << 18,
    Error = 1L << 19,
    Aborted = 1L << 20,
    TraceId = 1L << 21,
    SpanId = 1L << 22,
}

/// <summary>Every field in line order, with its JSON name (pre-encoded for the writer).</summary>
internal static class AccessLogFields
{
    public static readonly (string Name, AccessLogField Field)[] All =
    [
        ("time", AccessLogField.Time),
        ("client", AccessLogField.Client),
        ("method", AccessLogField.Method),
        ("host", AccessLogField.Host),
        ("path", AccessLogField.Path),
        ("protocol", AccessLogField.Protocol),
        ("status", AccessLogField.Status),
        ("grpc_status", AccessLogField.GrpcStatus),
        ("bytes_in", AccessLogField.BytesIn),
        ("bytes_out", AccessLogField.BytesOut),
        ("duration_ms", AccessLogField.Duration),
        ("upstream_ms", AccessLogField.UpstreamDuration),
        ("route", AccessLogField.Route),
        ("cluster", AccessLogField.Cluster),
        ("destination", AccessLogField.Destination),
        ("attempts", AccessLogField.Attempts),
        ("affinity", AccessLogField.Affinity),
        ("rate_limit", AccessLogField.RateLimit),
        ("rate_limit_policy", AccessLogField.RateLimitPolicy),
        ("error", AccessLogField.Error),
        ("aborted", AccessLogField.Aborted),
        ("trace_id", AccessLogField.TraceId),
        ("span_id", AccessLogField.SpanId),
    ];

    public static readonly AccessLogField Every = Combine();

    public static readonly string Names = string.Join(", ", Array.ConvertAll(All, static f => f.Name));

    /// <summary>The field named <paramref name="name"/> (case-insensitive), or None.</summary>
    public static AccessLogField Parse(string? name)
    {
        foreach (var (known, field) in All)
        {
            if (string.Equals(known, name?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return field;
            }
        }

        return AccessLogField.None;
    }

    public static JsonEncodedText Key(AccessLogField field)
    {
        foreach (var (name, known) in All)
        {
            if (known == field)
            {
                return JsonEncodedText.Encode(name);
            }
        }

        throw new ArgumentOutOfRangeException(nameof(field));
    }

    private static AccessLogField Combine()
    {
        var all = AccessLogField.None;
        foreach (var (_, field) in All)
        {
            all |= field;
        }

        return all;
    }
}
