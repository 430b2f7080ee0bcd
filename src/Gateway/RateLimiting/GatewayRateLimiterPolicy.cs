// A named policy as ASP.NET Core's rate-limiting middleware sees it: picks the partition for a request and writes the
// 429 (ErrorBody's shape, with the policy and the seconds to wait).
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.RateLimiting;
using Gateway.Foundation;
using Microsoft.AspNetCore.RateLimiting;
using Yarp.ReverseProxy.Model;

namespace Gateway.RateLimiting;

internal sealed class GatewayRateLimiterPolicy : IRateLimiterPolicy<PartitionKey>
{
    // IPv4 clients of a dual-stack listener arrive IPv4-mapped; MapToIPv4().ToString() would allocate two objects per
    // request. Kestrel keeps one IPAddress per connection, so the key string is kept per instance (weakly: dies with it).
    private static readonly ConditionalWeakTable<IPAddress, string> MappedKeys = [];

    private readonly string _name;
    private readonly RateLimitPolicies _policies;
    private readonly RateLimitMetrics _metrics;
    private readonly Func<PartitionKey, RateLimiter> _createPartition;
    private readonly byte[] _bodyPrefix;

    public GatewayRateLimiterPolicy(string name, RateLimitPolicies policies, RedisRateLimitStore store, RateLimitMetrics metrics, TimeProvider time)
    {
        _name = name;
        _policies = policies;
        _metrics = metrics;
        // One delegate per policy, not one closure per request.
        _createPartition = key => new PartitionLimiter(name, key, policies, store, metrics, time);
        _bodyPrefix = System.Text.Encoding.UTF8.GetBytes($"{{\"error\":\"rate_limited\",\"policy\":{System.Text.Json.Nodes.JsonValue.Create(name).ToJsonString()},\"retryAfterSeconds\":");
        OnRejected = WriteRejectionAsync;
    }

    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; }

    public RateLimitPartition<PartitionKey> GetPartition(HttpContext httpContext)
    {
        var partition = _policies.Get(_name).Partition;
        PartitionKey key;
        switch (partition.Kind)
        {
            case PartitionKind.Header:
                // A missing header must not put every such request in one shared bucket: those fall back to the client IP.
                key = httpContext.Request.Headers.TryGetValue(partition.HeaderName!, out var values) && values.Count > 0 && !string.IsNullOrEmpty(values[0])
                    ? new PartitionKey(PartitionKind.Header, values[0]!)
                    : ClientIp(httpContext);
                break;
            case PartitionKind.Route:
                key = new PartitionKey(PartitionKind.Route, RouteId(httpContext));
                break;
            default:
                key = ClientIp(httpContext);
                break;
        }

        return new RateLimitPartition<PartitionKey>(key, _createPartition);
    }

    /// <summary>
    /// The connection's peer. X-Forwarded-For is never read here: ASP.NET Core's ForwardedHeaders middleware rewrites
    /// RemoteIpAddress only for requests from Gateway:ForwardedHeaders:KnownNetworks/KnownProxies, so a client cannot pick its partition.
    /// </summary>
    private static PartitionKey ClientIp(HttpContext httpContext)
    {
        var address = httpContext.Connection.RemoteIpAddress;
        if (address is null)
        {
            return new PartitionKey(PartitionKind.ClientIp, "unknown");
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return new PartitionKey(PartitionKind.ClientIp, MappedKeys.GetValue(address, static a => AddressKey(a.MapToIPv4())));
        }

        // IPAddress caches its own ToString().
        return new PartitionKey(PartitionKind.ClientIp, AddressKey(address));
    }

    private static string AddressKey(IPAddress address) => address.Equals(IPAddress.Loopback) ? "127.0.0.1" : address.ToString();

    private static string RouteId(HttpContext httpContext) =>
        httpContext.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.RouteId ?? "unknown";

    private async ValueTask WriteRejectionAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var seconds = 1;
        if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) && retryAfter > TimeSpan.Zero)
        {
            seconds = (int)Math.Min(int.MaxValue, Math.Ceiling(retryAfter.TotalSeconds));
        }

        var httpContext = context.HttpContext;
        _metrics.Rejected(RouteId(httpContext), _name);
        var response = httpContext.Response;
        var secondsText = seconds.ToString(CultureInfo.InvariantCulture);
        response.Headers.RetryAfter = secondsText;
        var body = new byte[_bodyPrefix.Length + secondsText.Length + 1];
        _bodyPrefix.CopyTo(body, 0);
        System.Text.Encoding.ASCII.GetBytes(secondsText, 0, secondsText.Length, body, _bodyPrefix.Length);
        body[^1] = (byte)'}';
        await ErrorBody.WriteAsync(response, StatusCodes.Status429TooManyRequests, body, cancellationToken).ConfigureAwait(false);
    }
}
