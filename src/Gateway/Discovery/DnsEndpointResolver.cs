using System.Net;
using Microsoft.Extensions.Logging;

namespace Gateway.Discovery;

/// <summary>What to resolve: a name whose A/AAAA records are the destinations, the port and scheme to reach them on, how often.</summary>
internal sealed record DnsDiscoveryTarget(string Name, int Port, string Scheme = "http", TimeSpan? RefreshInterval = null, string? Cluster = null)
{
    public static readonly TimeSpan DefaultRefreshInterval = TimeSpan.FromSeconds(5);

    public TimeSpan Refresh => RefreshInterval is { } r && r > TimeSpan.Zero ? r : DefaultRefreshInterval;

    /// <summary>What is resolved, and for which cluster: every log line of the resolver names both.</summary>
    public override string ToString() => Cluster is null ? $"{Name}:{Port}" : $"{Name}:{Port} (cluster '{Cluster}')";
}

/// <summary>Timings of a <see cref="DnsEndpointResolver"/>.</summary>
internal sealed record DnsResolverOptions
{
    /// <summary>Never look up more often than this, whatever the TTL says (a TTL of 0 would otherwise spin).</summary>
    public TimeSpan MinRefreshInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Per query and server, over UDP or TCP.</summary>
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>After a failure the next lookup comes this soon, doubling up to the refresh interval.</summary>
    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public double RetryJitter { get; init; } = 0.2;
}

/// <summary>
/// Resolves a name's A and AAAA records every <see cref="DnsDiscoveryTarget.Refresh"/> (sooner when the records' TTL is shorter) and
/// publishes one Ready endpoint per address, id <c>ip:port</c>. With servers given (host:port) it asks them itself (RFC 1035 over
/// UDP, TCP when truncated), which also yields TTLs; without, it uses the system resolver. A failed lookup, and an empty answer
/// (NXDOMAIN, no records), keep the last good set and retry with back-off; they are counted in <see cref="Status"/>.
/// </summary>
internal sealed class DnsEndpointResolver : IEndpointDiscovery
{
    private readonly DnsDiscoveryTarget _target;
    private readonly IDnsLookup _lookup;
    private readonly Action<DiscoveryUpdate> _onUpdate;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DnsResolverOptions _options;
    private readonly DiscoveryState _state;
    private readonly BackgroundLoop _loop;
    private long _lookups;

    public DnsEndpointResolver(
        DnsDiscoveryTarget target,
        IReadOnlyList<string>? servers,
        Action<DiscoveryUpdate> onUpdate,
        TimeProvider time,
        ILogger logger,
        DnsResolverOptions? options = null)
        : this(target, CreateLookup(servers, time, options ?? new DnsResolverOptions()), onUpdate, time, logger, options)
    {
    }

    internal DnsEndpointResolver(
        DnsDiscoveryTarget target,
        IDnsLookup lookup,
        Action<DiscoveryUpdate> onUpdate,
        TimeProvider time,
        ILogger logger,
        DnsResolverOptions? options = null)
    {
        _target = target;
        _lookup = lookup;
        _onUpdate = onUpdate;
        _time = time;
        _logger = logger;
        _options = options ?? new DnsResolverOptions();
        _state = new DiscoveryState(Source, Target, time);
        _loop = new BackgroundLoop(RunAsync);
    }

    public string Source => DiscoveredEndpoint.DnsSource;

    public string Target => _target.ToString();

    public IReadOnlyList<DiscoveredEndpoint>? Current => _state.Current;

    public DiscoveryStatus Status => _state.Snapshot();

    /// <summary>Lookups made (successful or not).</summary>
    public long Lookups => Interlocked.Read(ref _lookups);

    /// <summary>The DNS servers asked directly, or empty for the system resolver.</summary>
    public IReadOnlyList<IPEndPoint> Servers => _lookup is DnsServerLookup direct ? direct.Servers : [];

    public void Start() => _loop.Start();

    public Task StopAsync() => _loop.StopAsync();

    public ValueTask DisposeAsync() => _loop.DisposeAsync();

    /// <summary>One lookup, published if the set changed; returns how long to wait before the next one.</summary>
    public async Task<TimeSpan> RefreshAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _lookups);
        var reason = _state.Current is null ? "initial lookup" : "dns refresh";
        DnsLookupResult result;
        try
        {
            result = await _lookup.LookupAsync(_target.Name, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return Failed(ex is DnsLookupException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}");
        }

        if (result.Addresses.Count == 0)
        {
            return Failed($"{_target.Name}: {result.Note ?? "no addresses"}");
        }

        var endpoints = result.Addresses
            .Select(a => EndpointSliceMapper.HostPort(a.ToString(), _target.Port))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Select(hostPort => new DiscoveredEndpoint(hostPort, _target.Scheme + "://" + hostPort, EndpointCondition.Ready, Source))
            .ToList();
        if (_state.Succeeded() is var ended and > 0)
        {
            Log.Recovered(_logger, Source, Target, ended);
        }

        Publish(endpoints, reason);
        var next = NextRefresh(_target.Refresh, result.Ttl, _options.MinRefreshInterval);
        Log.DnsRefreshed(_logger, Target, endpoints.Count, next, result.Ttl);
        return next;
    }

    /// <summary>The refresh interval, or the TTL when it is shorter, but not under the minimum (unless the interval itself is).</summary>
    internal static TimeSpan NextRefresh(TimeSpan interval, TimeSpan? ttl, TimeSpan minimum)
    {
        var next = ttl is { } t && t < interval ? t : interval;
        return next < minimum ? TimeSpan.FromTicks(Math.Min(minimum.Ticks, interval.Ticks)) : next;
    }

    private static IDnsLookup CreateLookup(IReadOnlyList<string>? servers, TimeProvider time, DnsResolverOptions options) =>
        servers is { Count: > 0 }
            ? new DnsServerLookup(servers.Select(DnsServerLookup.ParseServer).ToList(), time, options.QueryTimeout)
            : new SystemDnsLookup();

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var delay = await RefreshAsync(stopping).ConfigureAwait(false);
                await Task.Delay(delay, _time, stopping).ConfigureAwait(false);
            }
        }
        catch (Exception) when (stopping.IsCancellationRequested)
        {
            // stopped
        }
    }

    private TimeSpan Failed(string error)
    {
        var failures = _state.Failed(error);
        var delay = Backoff.Delay(failures, _options.InitialRetryDelay, _target.Refresh, _options.RetryJitter);
        Log.LookupFailed(_logger, Source, Target, "lookup", failures, error, _state.Current?.Count ?? 0, delay);
        return delay;
    }

    private void Publish(List<DiscoveredEndpoint> endpoints, string reason)
    {
        if (_state.Offer(endpoints, reason) is not { } update)
        {
            return;
        }

        Log.EndpointsChanged(_logger, Source, Target, endpoints.Count, endpoints.Count, 0, 0, reason);
        try
        {
            _onUpdate(update);
        }
        catch (Exception ex)
        {
            Log.CallbackFailed(_logger, ex, Source, Target);
        }
    }
}
