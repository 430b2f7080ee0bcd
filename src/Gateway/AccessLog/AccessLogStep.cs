// First in the app pipeline, for every request on the proxy listener (never the management one): starts the line and
// lets the request run; once the response is over (Kestrel's OnCompleted: no await of ours in the request's chain) it
// captures what happened and hands the line to the writer. Nothing here formats or waits: a full buffer drops the line
// (counted), the request goes on.
using System.Diagnostics;
using Gateway.Foundation;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Gateway.AccessLog;

internal sealed class AccessLogStep : IRequestStep, IDisposable
{
    /// <summary>The error of a request cut by its route's <c>Timeout</c> (YARP reports it as RequestCanceled).</summary>
    internal const string RouteTimeout = "RouteTimeout";


    private readonly AccessLogWriter _writer;
    private readonly TimeProvider _time;
    private readonly IDisposable? _reload;
    private readonly Func<object, Task> _completed;
    private volatile AccessLogSettings _settings;

    public AccessLogStep(AccessLogWriter writer, IOptionsMonitor<AccessLogOptions> options, TimeProvider time)
    {
        _writer = writer;
        _time = time;
        _completed = Completed;
        _settings = new AccessLogSettings(options.CurrentValue);
        // Fields, sampling, query and headers follow reloads (options only ever bind from a validated config).
        _reload = options.OnChange(current => _settings = new AccessLogSettings(current));
    }

    internal AccessLogSettings Settings => _settings;

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (ManagementConnectionFeature.IsManagement(context))
        {
            return next(context);
        }

        var settings = _settings;
        var entry = new AccessLogEntry(settings, Stopwatch.GetTimestamp(), _time.GetUtcNow()) { Context = context };
        if (Activity.Current is { } activity)
        {
            entry.TraceId = activity.TraceId;
            entry.SpanId = activity.SpanId;
            entry.HasTrace = activity.IdFormat == ActivityIdFormat.W3C;
        }

        context.Features.Set<IRequestFacts>(entry);
        CountBodies(context, entry, settings);

        // After the response, however it ends: Kestrel has set the final status (its 500 for an exception before the
        // response started) and cancelled RequestAborted if the connection was cut.
        context.Response.OnCompleted(_completed, entry);
        return next(context);
    }

    public void Dispose() => _reload?.Dispose();

    private Task Completed(object state)
    {
        var entry = (AccessLogEntry)state;
        var context = entry.Context!;
        entry.Context = null;
        Capture(context, entry);
        if (entry.IsError || entry.Settings.SampleSuccess())
        {
            _writer.TryWrite(entry);
        }

        return Task.CompletedTask;
    }

    private static void CountBodies(HttpContext context, AccessLogEntry entry, AccessLogSettings settings)
    {
        if (settings.Has(AccessLogField.BytesOut) && context.Features.Get<IHttpResponseBodyFeature>() is { } response)
        {
            var counting = new CountingResponseBody(response);
            context.Features.Set<IHttpResponseBodyFeature>(counting);
            entry.ResponseBody = counting;
        }

        // A request that cannot have a body (GET without Content-Length, ...) is 0 bytes in, without a wrapper.
        if (settings.Has(AccessLogField.BytesIn) && context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true })
        {
            var request = context.Request;
            var counting = new CountingRequestBody(request.Body);
            request.Body = counting;
            entry.RequestBody = counting;
        }
    }

    private static void Capture(HttpContext context, AccessLogEntry entry)
    {
        var now = Stopwatch.GetTimestamp();
        entry.DurationTicks = now - entry.StartTimestamp;
        var settings = entry.Settings;
        var request = context.Request;
        var response = context.Response;

        // After the trusted X-Forwarded-* were applied (UseHardening rewrites the connection's address and the host).
        entry.Client = context.Connection.RemoteIpAddress;
        entry.Method = request.Method;
        entry.Host = request.Host.Value;
        entry.Path = request.Path.Value;
        entry.Query = settings.IncludeQuery ? request.QueryString.Value : null;
        entry.Protocol = request.Protocol;
        entry.Status = response.StatusCode;
        entry.Aborted = context.RequestAborted.IsCancellationRequested;
        entry.GrpcStatus = GrpcStatus.Of(context);
        // The counters go (Kestrel resets its features for the next request anyway; a reused context must not stack them).
        if (entry.ResponseBody is { } responseBody)
        {
            entry.BytesOut = responseBody.Written;
            context.Features.Set(responseBody.Inner);
            entry.ResponseBody = null;
        }

        if (entry.RequestBody is { } requestBody)
        {
            entry.BytesIn = requestBody.BytesRead;
            request.Body = requestBody.Inner;
            entry.RequestBody = null;
        }
        else if (settings.Has(AccessLogField.BytesIn))
        {
            entry.BytesIn = 0;
        }

        var endpoint = context.GetEndpoint();
        var proxy = context.Features.Get<IReverseProxyFeature>();
        if (proxy is not null)
        {
            entry.Proxied = true;
            entry.Route = proxy.Route.Config.RouteId;
            entry.Cluster = proxy.Cluster?.Config.ClusterId;
            if (proxy.ProxiedDestination is { } destination)
            {
                entry.Destination = destination.DestinationId;
                entry.UpstreamTicks = now - entry.LastAttemptStart;
            }
            else if (entry.Attempts > 0)
            {
                // The last pass found no destination: nothing was sent on it.
                entry.Attempts--;
            }

            if (context.Features.Get<IForwarderErrorFeature>() is { } error)
            {
                // YARP reports a fired route timeout as RequestCanceled, as if the client had left.
                entry.Error = error.Error == ForwarderError.RequestCanceled && entry.RouteTimeout.IsCancellationRequested
                    ? RouteTimeout
                    : ForwarderErrorNames.Of(error.Error);
            }
        }
        else if (endpoint?.Metadata.GetMetadata<RouteModel>() is { } route)
        {
            // Routed, but answered before YARP's pipeline (a 429, a CORS preflight): the route's cluster, no destination.
            entry.Route = route.Config.RouteId;
            entry.Cluster = route.Config.ClusterId;
        }

        if (endpoint?.Metadata.GetMetadata<EnableRateLimitingAttribute>() is { PolicyName: { } policy })
        {
            entry.RateLimitPolicy = policy;
            // The limiter answers before the endpoint runs; a 429 from the upstream comes through the proxy pipeline.
            entry.RateLimited = proxy is null && entry.Status == StatusCodes.Status429TooManyRequests;
        }

        var names = settings.HeaderNames;
        if (names.Length > 0)
        {
            var headers = request.Headers;
            var values = new StringValues[names.Length];
            for (var i = 0; i < names.Length; i++)
            {
                values[i] = headers[names[i]];
            }

            entry.Headers = values;
        }
    }
}
