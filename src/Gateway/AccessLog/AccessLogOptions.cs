using Gateway.Foundation;

namespace Gateway.AccessLog;

/// <summary>
/// The access log, bound from <c>Gateway:AccessLog</c>: one JSON line per request on the proxy listener, on stdout.
/// <see cref="Enabled"/>, <see cref="Format"/> and <see cref="BufferSize"/> are read at start; the others also apply on
/// a reload.
/// </summary>
internal sealed class AccessLogOptions : IConfigBindable<AccessLogOptions>
{
    public static AccessLogOptions Read(IConfiguration section) => section.Get<AccessLogOptions>() ?? new();

    public const string SectionPath = "Gateway:AccessLog";

    /// <summary>Default false. Read at start.</summary>
    public bool Enabled { get; set; }

    /// <summary><c>Json</c> (the only format): one JSON object per line. Read at start.</summary>
    public AccessLogFormat Format { get; set; } = AccessLogFormat.Json;

    /// <summary>
    /// Share of successful requests logged, 0..1. Default 1 (all). Errors (status 400 or above, a gRPC status other than
    /// OK, or a request cut before its end) are always logged.
    /// </summary>
    public double SampleRate { get; set; } = 1.0;

    /// <summary>The fields of a line, by their JSON names (e.g. <c>["time", "status", "route"]</c>). Empty (the default): all of them.</summary>
    public string[] Fields { get; set; } = [];

    /// <summary>Append the query string to <c>path</c>. Default false: query strings often carry tokens and personal data.</summary>
    public bool IncludeQuery { get; set; }

    /// <summary>
    /// Request headers logged under <c>headers</c>, by name (e.g. <c>["User-Agent", "X-Request-Id"]</c>). Default none.
    /// <c>Cookie</c>, <c>Set-Cookie</c>, <c>Authorization</c> and <c>Proxy-Authorization</c> are refused.
    /// </summary>
    public string[] Headers { get; set; } = [];

    /// <summary>
    /// Lines waiting for stdout, at most (default 8192). When stdout is slower than the traffic a line that finds the
    /// buffer full is dropped and counted (<c>gateway_access_log_dropped_total</c>); a request never waits. Read at start.
    /// </summary>
    public int BufferSize { get; set; } = 8192;
}

internal enum AccessLogFormat
{
    Json,
}
