using Gateway.Foundation;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gateway.Observability;

internal static class TelemetryExtensions
{
    /// <summary>
    /// Framework meters listened to while <c>Gateway:Telemetry:Metrics</c> is true. Hosting's http.server.* is the only
    /// per-request one: it counts requests that match no route, which gateway.proxy.* never sees.
    /// </summary>
    private static readonly string[] FrameworkMeters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Diagnostics", "System.Net.NameResolution"];

    /// <summary>
    /// Per-request framework meters that repeat what gateway.* records (http.client.* per upstream attempt and connection,
    /// routing matches, rate-limiter leases), each a few instrument updates per request; only with <c>DetailedMetrics</c>.
    /// </summary>
    private static readonly string[] DetailedFrameworkMeters =
        ["System.Net.Http", "Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.RateLimiting"];

    /// <summary>
    /// Meters whose label sets are few and fixed (GC generations, listener endpoints and protocols). OpenTelemetry sizes
    /// every metric stream for its cardinality limit when the instrument is published, 2,000 points by default, a
    /// large-object-heap array each; these get <see cref="SmallLabelSetLimit"/> instead.
    /// </summary>
    internal static readonly HashSet<string> SmallLabelSetMeters = new(StringComparer.Ordinal) { "System.Runtime", "Microsoft.AspNetCore.Server.Kestrel" };

    internal const int SmallLabelSetLimit = 100;

    private static readonly MetricStreamConfiguration SmallLabelSetStream = new() { CardinalityLimit = SmallLabelSetLimit };

    public static IServiceCollection AddGatewayTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddGatewayOptions<TelemetryOptions, TelemetryOptionsValidator>(TelemetryOptions.SectionPath);
        services.AddSingleton(new RestartRequiredSection(TelemetryOptions.SectionPath, "exporters are built at start"));
        services.AddSingleton<ProxyMetrics>();
        services.AddSingleton<DestinationHealthMetrics>();
        services.AddSingleton<ProxyMetricsStep>();
        services.AddSingleton<UpstreamMetricsStep>();

        var openTelemetry = services.AddOpenTelemetry();
        openTelemetry
            .ConfigureResource(resource => resource.AddService("gateway"))
            .WithMetrics(metrics => ((IDeferredMeterProviderBuilder)metrics
                .AddMeter(GatewayMeter.Name, "Microsoft.AspNetCore.Server.Kestrel")
                .AddRuntimeInstrumentation()
                .AddView(static instrument => SmallLabelSetMeters.Contains(instrument.Meter.Name) ? SmallLabelSetStream : null)
                .AddPrometheusExporter())
                .Configure(static (sp, metrics) =>
                {
                    // Deferred: the switch comes from validated options. Off means the per-request meters are never
                    // listened to, so ASP.NET Core and HttpClient record nothing (not merely dropped at export). These are
                    // the meters AddAspNetCoreInstrumentation/AddHttpClientInstrumentation subscribe to on .NET 8+; those
                    // extensions register services, which is no longer allowed once options can be read.
                    var options = sp.GetRequiredService<IOptions<TelemetryOptions>>().Value;
                    if (options.Metrics)
                    {
                        metrics.AddMeter(FrameworkMeters);
                        if (options.DetailedMetrics)
                        {
                            metrics.AddMeter(DetailedFrameworkMeters);
                        }
                    }
                }));

        // Without a collector nobody receives a span, so no tracing listener is attached: an OpenTelemetry listener costs
        // every request a sampling decision and two instrumented activities. Trace context still reaches upstreams through
        // the activities ASP.NET Core and HttpClient create on their own. Read here, not from options: instrumentation
        // registers services, and the validator still rejects a bad endpoint at start.
        if (string.IsNullOrWhiteSpace(configuration[$"{TelemetryOptions.SectionPath}:Otlp:Endpoint"]))
        {
            return services;
        }

        openTelemetry.WithTracing(tracing => ((IDeferredTracerProviderBuilder)tracing
                // Probes and scrapes on the management listener are not traced.
                .AddAspNetCoreInstrumentation(static o => o.Filter = static context => !ManagementConnectionFeature.IsManagement(context))
                // YARP's SocketsHttpHandler (ReverseProxyPropagator) writes traceparent from this client activity.
                .AddHttpClientInstrumentation()
                .SetSampler(static sp => CreateSampler(sp.GetRequiredService<IOptions<TelemetryOptions>>().Value)))
                .Configure(static (sp, tracing) =>
                {
                    var options = sp.GetRequiredService<IOptions<TelemetryOptions>>().Value;
                    if (CreateOtlpExporter(options.Otlp) is { } exporter)
                    {
                        // The options' constructor reads OTEL_BSP_* (batch size, delay), as AddOtlpExporter would.
                        var batch = new BatchExportActivityProcessorOptions();
                        tracing.AddProcessor(new BatchActivityExportProcessor(
                            exporter, batch.MaxQueueSize, batch.ScheduledDelayMilliseconds, batch.ExporterTimeoutMilliseconds, batch.MaxExportBatchSize));
                        Log.OtlpTracesOn(sp.GetRequiredService<ILogger<TelemetryOptions>>(), Redacted(options.Otlp.Endpoint!), options.Otlp.Protocol, options.TraceSampleRatio);
                    }
                }));
        return services;
    }

    /// <summary>
    /// Parent-based: a caller's sampled/not-sampled decision is kept (a gateway that dropped a sampled trace would cut it
    /// in two); requests without a parent start a recorded trace at <see cref="TelemetryOptions.TraceSampleRatio"/>.
    /// Unsampled requests still get an activity, so trace context always reaches the upstream.
    /// </summary>
    internal static Sampler CreateSampler(TelemetryOptions options) =>
        new ParentBasedSampler(options.TraceSampleRatio >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(options.TraceSampleRatio));

    private static OtlpTraceExporter? CreateOtlpExporter(OtlpOptions otlp)
    {
        if (string.IsNullOrWhiteSpace(otlp.Endpoint))
        {
            return null;
        }

        // The parameterless constructor reads OTEL_EXPORTER_OTLP_* (e.g. HEADERS for collector auth); ours win.
        var exporterOptions = new OtlpExporterOptions
        {
            Endpoint = new Uri(otlp.Endpoint),
            Protocol = otlp.Protocol == OtlpProtocol.HttpProtobuf ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc,
        };
        return new OtlpTraceExporter(exporterOptions);
    }

    /// <summary>Never log credentials a URL may carry.</summary>
    private static string Redacted(string url) =>
        new Uri(url).GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);

    /// <summary>
    /// Records <c>gateway.proxy.requests</c>, <c>gateway.proxy.request.duration</c> and <c>gateway.proxy.errors</c>.
    /// Put it first in the proxy pipeline. Requests that match no route never get here: ASP.NET Core's
    /// <c>http.server.request.duration</c> counts them (no <c>http_route</c> label), which keeps the route label bounded.
    /// </summary>
    public static IReverseProxyApplicationBuilder UseProxyMetrics(this IReverseProxyApplicationBuilder proxy)
    {
        var services = proxy.ApplicationServices;
        _ = services.GetRequiredService<DestinationHealthMetrics>();
        if (!services.GetRequiredService<IOptions<TelemetryOptions>>().Value.Metrics)
        {
            Log.PerRequestMetricsOff(services.GetRequiredService<ILogger<TelemetryOptions>>());
            return proxy;
        }

        proxy.UseStep<ProxyMetricsStep>();
        return proxy;
    }

    /// <summary>
    /// Records <c>gateway.proxy.upstream.duration</c> per attempt. Put it last, right before YARP's forwarder, so the clock
    /// starts when the request is sent upstream and stops at the end of the response body.
    /// </summary>
    public static IReverseProxyApplicationBuilder UseUpstreamMetrics(this IReverseProxyApplicationBuilder proxy)
    {
        if (proxy.ApplicationServices.GetRequiredService<IOptions<TelemetryOptions>>().Value.Metrics)
        {
            proxy.UseStep<UpstreamMetricsStep>();
        }

        return proxy;
    }

    /// <summary>Structured console logs; JSON when running in a container, where a log collector parses them.</summary>
    public static WebApplicationBuilder AddGatewayLogging(this WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        if (string.Equals(Environment.GetEnvironmentVariable("DOTNET_RUNNING_IN_CONTAINER"), "true", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddJsonConsole();
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        }

        return builder;
    }
}
