// Sends mirrored copies to a shadow cluster over that cluster's own pool, with a cap on copies in flight per shadow,
// so a stalled shadow costs at most MaxConcurrent pending copies and never slows the real requests.
using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Yarp.ReverseProxy;

namespace Gateway.TrafficSplit;

internal sealed class MirrorSender(IProxyStateLookup lookup, TrafficMetrics metrics, ILogger<MirrorSender> logger)
{
    public const string MirrorHeader = "X-Gateway-Mirror";

    private readonly ConcurrentDictionary<string, StrongBox> _inFlight = new(StringComparer.OrdinalIgnoreCase);
    private int _next;

    public int InFlight(string shadow) => _inFlight.TryGetValue(shadow, out var box) ? Volatile.Read(ref box.Value) : 0;

    public bool TryEnter(MirrorOptions options)
    {
        var box = _inFlight.GetOrAdd(options.ClusterId!, static _ => new StrongBox());
        if (Interlocked.Increment(ref box.Value) <= options.MaxConcurrent)
        {
            return true;
        }

        Interlocked.Decrement(ref box.Value);
        return false;
    }

    public void Exit(MirrorOptions options)
    {
        if (_inFlight.TryGetValue(options.ClusterId!, out var box))
        {
            Interlocked.Decrement(ref box.Value);
        }
    }

    /// <summary>Starts the copy in the background; the caller has entered a slot, which the copy releases.</summary>
    public void Send(HttpContext context, string routeId, MirrorOptions options, byte[] body)
    {
        var shadow = options.ClusterId!;
        HttpRequestMessage? copy = null;
        HttpMessageInvoker? invoker = null;
        if (lookup.TryGetCluster(shadow, out var cluster) && cluster.DestinationsState.AvailableDestinations is { Count: > 0 } destinations)
        {
            var destination = destinations[(int)((uint)Interlocked.Increment(ref _next) % (uint)destinations.Count)];
            invoker = cluster.Model.HttpClient;
            copy = CreateCopy(context.Request, destination.Model.Config.Address, body);
        }

        if (copy is null || invoker is null)
        {
            Exit(options);
            metrics.Mirror(routeId, shadow, TrafficMetrics.Failed);
            return;
        }

        _ = SendAsync(invoker, copy, routeId, options);
    }

    private async Task SendAsync(HttpMessageInvoker invoker, HttpRequestMessage copy, string routeId, MirrorOptions options)
    {
        var shadow = options.ClusterId!;
        try
        {
            await Task.Yield(); // off the request's own thread before any network work
            using var timeout = new CancellationTokenSource(options.Timeout);
            using var response = await invoker.SendAsync(copy, timeout.Token);
            metrics.Mirror(routeId, shadow, TrafficMetrics.Sent);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            metrics.Mirror(routeId, shadow, TrafficMetrics.Failed);
            Log.MirrorFailed(logger, routeId, shadow, ex.GetType().Name);
        }
        finally
        {
            copy.Dispose();
            Exit(options);
        }
    }

    private static HttpRequestMessage CreateCopy(HttpRequest request, string address, byte[] body)
    {
        var target = new Uri(new Uri(address), request.PathBase.Add(request.Path).ToUriComponent() + request.QueryString.ToUriComponent());
        var copy = new HttpRequestMessage(new HttpMethod(request.Method), target) { Version = System.Net.HttpVersion.Version11 };
        if (body.Length > 0 || request.ContentLength is not null)
        {
            copy.Content = new ByteArrayContent(body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (IsHopByHop(name) || string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!copy.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                copy.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        copy.Headers.TryAddWithoutValidation(MirrorHeader, "1");
        return copy;
    }

    private static bool IsHopByHop(string name) =>
        name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) || name.Equals("TE", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase) || name.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase);

    private sealed class StrongBox
    {
        public int Value;
    }
}
