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

    /// <summary>Passes through the upstream step: attempts forwarded (retries included), plus one if no destination was available.</summary>
    public int Attempts { get; set; }

    /// <summary>Stopwatch timestamp of the last attempt, taken right before YARP's forwarder.</summary>
    public long LastAttemptStart { get; set; }

    /// <summary>The route's Timeout token, kept by the upstream step (ASP.NET Core's timeout feature is gone by the end).</summary>
    public CancellationToken RouteTimeout { get; set; }

    /// <summary>The request, until its line is captured (the line never outlives the request with it).</summary>
    public HttpContext? Context { get; set; }

    /// <summary>Stopwatch ticks from sending the last attempt to the end of the response; -1 when nothing was sent.</summary>
    public long UpstreamTicks { get; set; } = -1;

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
