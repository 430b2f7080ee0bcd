using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Observability;

/// <summary>Metrics and tracing settings, bound from <c>Gateway:Telemetry</c>. Read at start; a reload is validated but does not change them.</summary>
internal sealed class TelemetryOptions : IConfigBindable<TelemetryOptions>
{
    public static TelemetryOptions Read(IConfiguration section) => section.Get<TelemetryOptions>() ?? new();

    public const string SectionPath = "Gateway:Telemetry";

    /// <summary>
    /// Per-request metrics: the gateway's <c>gateway.proxy.*</c> instruments and ASP.NET Core / HttpClient request metrics.
    /// Default true. False leaves only scrape-time gauges (pools, drain, health, reloads, runtime), e.g. to measure what metrics cost.
    /// </summary>
    public bool Metrics { get; set; } = true;

    /// <summary>
    /// Also record .NET's per-request HttpClient (<c>http.client.*</c>), routing and rate-limiter metrics. Default false:
    /// they repeat what <c>gateway.*</c> records per route, cluster and destination, at a cost on every request.
    /// </summary>
    public bool DetailedMetrics { get; set; }

    /// <summary>
    /// Share of new traces (requests arriving without a sampled <c>traceparent</c>) the gateway records, 0..1. Default 0:
    /// the gateway follows the caller's sampling decision (parent-based) and starts none of its own. Context is propagated
    /// to upstreams either way.
    /// </summary>
    public double TraceSampleRatio { get; set; }

    /// <summary>OTLP trace export; off unless <see cref="OtlpOptions.Endpoint"/> is set.</summary>
    public OtlpOptions Otlp { get; set; } = new();
}

/// <summary>OTLP exporter settings, bound from <c>Gateway:Telemetry:Otlp</c>.</summary>
internal sealed class OtlpOptions
{
    /// <summary>Collector URL, e.g. <c>http://otel-collector:4317</c> (gRPC) or <c>http://otel-collector:4318/v1/traces</c> (HTTP). Unset or empty: no export.</summary>
    public string? Endpoint { get; set; }

    /// <summary><c>Grpc</c> (default) or <c>HttpProtobuf</c>.</summary>
    public OtlpProtocol Protocol { get; set; } = OtlpProtocol.Grpc;
}

internal enum OtlpProtocol
{
    Grpc,
    HttpProtobuf,
}

internal sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        List<string>? errors = null;
        var ratio = options.TraceSampleRatio;
        if (double.IsNaN(ratio) || ratio < 0 || ratio > 1)
        {
            (errors ??= []).Add(ConfigErrors.Invalid($"{TelemetryOptions.SectionPath}:TraceSampleRatio", ratio.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be between 0 and 1 (0.01 records 1% of new traces)"));
        }

        if (options.Otlp.Endpoint is { Length: > 0 } endpoint && !IsHttpUrl(endpoint))
        {
            (errors ??= []).Add(ConfigErrors.Invalid($"{TelemetryOptions.SectionPath}:Otlp:Endpoint", endpoint, "is not an absolute http:// or https:// URL (e.g. \"http://otel-collector:4317\")"));
        }

        return errors is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && !string.IsNullOrEmpty(uri.Host);
}
