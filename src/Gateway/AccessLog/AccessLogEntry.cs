// One request's line, before it is formatted: filled on the request path (cheap copies of references and numbers),
// formatted into JSON by the writer's thread. Also the request's IRequestFacts, which other capabilities fill.
using System.Diagnostics;
using System.Net;
using Gateway.Foundation;
using Microsoft.Extensions.Primitives;

namespace Gateway.AccessLog;

internal sealed class AccessLogEntry(AccessLogSettings settings, long startTimestamp, DateTimeOffset time) : IRequestFacts
{
    public AccessLogSettings Settings { get; } = settings;

    public long StartTimestamp { get; } = startTimestamp;

    /// <summary>When the request arrived (wall clock).</summary>
    public DateTimeOffset Time { get; } = time;

    public string? AffinityOutcome { get; set; }

    // While the request runs: the body counters, and what the upstream step records per attempt.
    public CountingResponseBody? ResponseBody { get; set; }

    public CountingRequestBody? RequestBody { get; set; }

    /// <summary>Attempts sent upstream (retries included).</summary>
    public int Attempts { get; set; }

    /// <summary>Stopwatch ticks of the last attempt, from sending it upstream to the end of its response body; -1 when none was sent.</summary>
    public long UpstreamTicks { get; set; } = -1;

    /// <summary>The route's Timeout fired during an attempt (seen by the upstream step, while ASP.NET Core's timeout feature is set).</summary>
    public bool RouteTimedOut { get; set; }

    // Captured when the request ends.
    public long DurationTicks { get; set; }

    public ActivityTraceId TraceId { get; set; }

    public ActivitySpanId SpanId { get; set; }

    public bool HasTrace { get; set; }

    public IPAddress? Client { get; set; }

    public string? Method { get; set; }

    public string? Host { get; set; }

    public string? Path { get; set; }

    public string? Query { get; set; }

    public string? Protocol { get; set; }

    public int Status { get; set; }

    public string? GrpcStatus { get; set; }

    public long BytesIn { get; set; } = -1;

    public long BytesOut { get; set; } = -1;

    /// <summary>The request reached YARP's proxy pipeline (so <see cref="Attempts"/> means something).</summary>
    public bool Proxied { get; set; }

    public string? Route { get; set; }

    public string? Cluster { get; set; }

    public string? Destination { get; set; }

    public string? RateLimitPolicy { get; set; }

    public bool RateLimited { get; set; }

    public string? Error { get; set; }

    public bool Aborted { get; set; }

    /// <summary>The allow-listed request headers' values, in <see cref="AccessLogSettings.HeaderNames"/> order.</summary>
    public StringValues[]? Headers { get; set; }

    /// <summary>Logged whatever the sample rate: a 4xx/5xx, a gRPC status other than OK, or a request cut short.</summary>
    public bool IsError => Status >= 400 || Aborted || (GrpcStatus is not null && !ReferenceEquals(GrpcStatus, Foundation.GrpcStatus.Ok));
}
