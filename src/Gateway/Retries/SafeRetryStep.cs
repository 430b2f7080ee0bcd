// Gap in YARP: it never retries. This YARP pipeline step (after load balancing, before passive health, so every attempt
// is reported to the passive policy) forwards, and when the attempt failed in a way that is safe to repeat, forwards
// again to another available destination, within the cluster's retry budget.
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Gateway.Foundation;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Gateway.Retries;

internal sealed class SafeRetryStep(RetryMetrics metrics, TimeProvider time, ILogger<SafeRetryStep> logger) : IRequestStep
{
    private readonly ConditionalWeakTable<ClusterModel, RetrySettings> _settings = new();
    private readonly ConcurrentDictionary<string, RetryBudget> _budgets = new(StringComparer.OrdinalIgnoreCase);

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var proxy = context.GetReverseProxyFeature();
        var settings = SettingsFor(proxy.Cluster);
        RetryBudget? budget = null;
        if (settings.Enabled && settings.MaxAttempts > 1)
        {
            budget = _budgets.GetOrAdd(proxy.Cluster.Config.ClusterId, static (_, time) => new RetryBudget(time), time);
            budget.Deposit(settings.BudgetPercent);
        }

        var forwarding = next(context);
        if (forwarding.IsCompletedSuccessfully && context.Features.Get<IForwarderErrorFeature>() is null)
        {
            return Task.CompletedTask;
        }

        return CompleteAsync(context, next, forwarding, settings, budget);
    }

    private async Task CompleteAsync(HttpContext context, RequestDelegate next, Task forwarding, RetrySettings settings, RetryBudget? budget)
    {
        await forwarding;
        var proxy = context.GetReverseProxyFeature();
        var clusterId = proxy.Cluster.Config.ClusterId;
        DestinationState[]? tried = null;
        for (var attempt = 1; ; attempt++)
        {
            var error = context.Features.Get<IForwarderErrorFeature>();
            if (error is null)
            {
                if (attempt > 1)
                {
                    metrics.Retry(clusterId, RetryMetrics.Succeeded);
                }

                return;
            }

            if (budget is null || attempt >= settings.MaxAttempts || !IsSafeToRetry(context, error) || proxy.ProxiedDestination is not { } failed)
            {
                break;
            }

            tried ??= new DestinationState[settings.MaxAttempts];
            tried[attempt - 1] = failed;
            var another = PickAnother(context.GetRouteModel().Cluster!, tried);
            if (another is null)
            {
                break;
            }

            if (!budget.TryWithdraw(settings.MinRetriesPerSecond))
            {
                metrics.Retry(clusterId, RetryMetrics.BudgetExhausted);
                Log.BudgetExhausted(logger, clusterId, failed.DestinationId);
                break;
            }

            metrics.Retry(clusterId, RetryMetrics.Attempted);
            Log.Retrying(logger, clusterId, another.DestinationId, failed.DestinationId, error.Error.ToString());

            // Undo what the failed attempt left, so YARP forwards afresh: it refuses a response whose status is set.
            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.StatusCode = StatusCodes.Status200OK;
            proxy.ProxiedDestination = null;
            proxy.AvailableDestinations = [another];
            if (context.Request.Body.CanSeek)
            {
                context.Request.Body.Position = 0; // a buffered body (RequestBuffering, a mirror) is sent whole again
            }

            await next(context);
        }
    }

    /// <summary>
    /// Nothing was sent (connect failed): safe for any method, the body has not been read. Otherwise only an idempotent
    /// request without a body (or with a buffered one) whose connection broke before any response byte reached the client: before the response
    /// headers (a pod killed mid-request), or after them but before the first byte of the body, which YARP has not
    /// started sending yet (it clears what it had copied and would answer 502).
    /// </summary>
    private static bool IsSafeToRetry(HttpContext context, IForwarderErrorFeature error)
    {
        if (error.Error is not (ForwarderError.Request or ForwarderError.ResponseBodyDestination)
            || context.Response.HasStarted || context.RequestAborted.IsCancellationRequested)
        {
            return false;
        }

        if (error.Error == ForwarderError.Request && UpstreamErrors.NothingWasSent(error.Exception))
        {
            return true;
        }

        // A body can be sent again only if it was buffered (Kestrel's own request stream cannot seek).
        var request = context.Request;
        return IsIdempotent(request.Method)
            && (context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false } || request.Body.CanSeek);
    }

    private static bool IsIdempotent(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method)
        || HttpMethods.IsTrace(method) || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method);

    /// <summary>An available (healthy or unknown) destination not tried yet, starting at a random one to spread retries.</summary>
    private static DestinationState? PickAnother(ClusterState cluster, DestinationState?[] tried)
    {
        var available = cluster.DestinationsState.AvailableDestinations;
        var count = available.Count;
        if (count == 0)
        {
            return null;
        }

        var start = Random.Shared.Next(count);
        for (var i = 0; i < count; i++)
        {
            var candidate = available[(start + i) % count];
            if (Array.IndexOf(tried, candidate) < 0)
            {
                return candidate;
            }
        }

        return null;
    }

    private RetrySettings SettingsFor(ClusterModel model)
    {
        if (_settings.TryGetValue(model, out var settings))
        {
            return settings;
        }

        // A change of the cluster's Retry block or of Gateway:Retry changes the cluster (the block travels in its
        // Metadata), so YARP builds a new ClusterModel and this cache is keyed right.
        var block = RetryOptions.Block.Get(model.Config.Metadata);
        settings = RetrySettings.Resolve(block.Own, block.Defaults);

        _settings.AddOrUpdate(model, settings);
        return settings;
    }
}
