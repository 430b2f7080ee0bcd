// Counters whose label values are known before anything is counted (a fixed list of results, a cluster's or a route's
// config ids) record 0 for each of them, so their series exist from start and from the moment a cluster appears.
// Gap: an OpenTelemetry counter series exists only from its first measurement, so Prometheus sees it appear at 1, and
// rate()/increase() cannot see that first step (an alert on the first rejected reload would never fire); a dashboard
// shows "no data" where 0 is meant.
using Microsoft.Extensions.Hosting;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Foundation;

internal sealed class KnownSeries(IServiceProvider services) : IHostedService, IConfigChangeListener
{
    private readonly Lock _lock = new();
    private readonly List<Action<IProxyStateLookup>> _seeds = [];
    private IDestinationSource[]? _sources;
    private bool _listening;

    /// <summary>
    /// Registers <paramref name="seed"/> (a metrics class does it in its constructor): it records 0 for every label
    /// set it can tell from the clusters and routes being served. It runs at start, once the meter is listened to,
    /// and again after every config YARP applies; recording 0 for a series that exists changes nothing.
    /// </summary>
    public void Add(Action<IProxyStateLookup> seed)
    {
        bool listening;
        lock (_lock)
        {
            _seeds.Add(seed);
            listening = _listening;
        }

        if (listening)
        {
            seed(State);
        }
    }

    /// <summary>
    /// Whether a destination is in the cluster's own config, not supplied by an <see cref="IDestinationSource"/>:
    /// discovered pods come and go, and a 0 series for every pod ever seen would grow without bound.
    /// </summary>
    public bool IsConfigured(string clusterId, string destinationId)
    {
        foreach (var source in _sources ??= [.. services.GetServices<IDestinationSource>()])
        {
            if (source.Supplies(clusterId, destinationId))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// After OpenTelemetry's hosted service has attached the meter listener (registered after it; a measurement made
    /// before is lost) and before the server starts listening, so the first scrape finds the series.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _listening = true;
        }

        RunAll();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A new or changed cluster, route or destination set has reached YARP.</summary>
    public void ConfigurationApplied(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
        if (Volatile.Read(ref _listening))
        {
            RunAll();
        }
    }

    public void ConfigurationLoaded(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
    }

    public void ConfigurationLoadingFailed(IProxyConfigProvider configProvider, Exception exception)
    {
    }

    public void ConfigurationApplyingFailed(IReadOnlyList<IProxyConfig> proxyConfigs, Exception exception)
    {
    }

    // Resolved when first needed: YARP's config manager takes this class as one of its change listeners.
    private IProxyStateLookup State => services.GetRequiredService<IProxyStateLookup>();

    private void RunAll()
    {
        Action<IProxyStateLookup>[] seeds;
        lock (_lock)
        {
            seeds = [.. _seeds];
        }

        var state = State;
        foreach (var seed in seeds)
        {
            seed(state);
        }
    }
}

internal static class KnownSeriesExtensions
{
    /// <summary>
    /// Registers <see cref="KnownSeries"/>. Call it after the telemetry's registration: hosted services start in
    /// registration order, and the seeds must run once OpenTelemetry listens.
    /// </summary>
    public static IServiceCollection AddKnownSeries(this IServiceCollection services)
    {
        services.AddSingleton<KnownSeries>();
        services.AddHostedService(sp => sp.GetRequiredService<KnownSeries>());
        services.AddSingleton<IConfigChangeListener>(sp => sp.GetRequiredService<KnownSeries>());
        return services;
    }
}
