// Gap in YARP: a cluster without a HealthCheck block has no passive health at all, so a dead pod keeps receiving its
// share of requests until someone edits the config. Passive checking costs nothing until a destination fails, so it is
// on by default (an explicit HealthCheck:Passive block, even Enabled: false, always wins). The filter also writes the
// ConsecutiveFailures policy's defaults into each cluster's metadata, so the policy reads one place. The defaults come
// from the cluster itself (the config reader carries Gateway:PassiveHealth into it), so a candidate config is
// validated with its own defaults, not the running ones.
using System.Globalization;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.PassiveHealth;

internal sealed class HealthCheckDefaultsFilter : IProxyConfigFilter
{
    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel)
    {
        var defaults = PassiveHealthDefaultsOptions.Block.Get(cluster.Metadata).Defaults;

        if (defaults.Enabled != false && cluster.HealthCheck?.Passive is null)
        {
            var passive = new PassiveHealthCheckConfig
            {
                Enabled = true,
                Policy = defaults.Policy ?? ConsecutiveFailuresPolicy.PolicyName,
                ReactivationPeriod = defaults.ReactivationPeriod ?? EjectionSettings.DefaultReactivationPeriod,
            };
            cluster = cluster with { HealthCheck = (cluster.HealthCheck ?? new HealthCheckConfig()) with { Passive = passive } };
        }

        // Ejection must not turn a partial outage into a full one: when every destination is marked down, YARP's
        // HealthyOrPanic policy sends to all of them instead of answering 503 (an explicit policy wins).
        if (cluster.HealthCheck is { } health && (health.Passive?.Enabled == true || health.Active?.Enabled == true)
            && string.IsNullOrEmpty(health.AvailableDestinationsPolicy))
        {
            cluster = cluster with { HealthCheck = health with { AvailableDestinationsPolicy = "HealthyOrPanic" } };
        }

        var metadata = new Dictionary<string, string>(cluster.Metadata ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase);
        metadata.TryAdd(EjectionSettings.ThresholdKey, (defaults.ConsecutiveFailures ?? EjectionSettings.DefaultThreshold).ToString(CultureInfo.InvariantCulture));
        metadata.TryAdd(EjectionSettings.ConnectThresholdKey, (defaults.ConsecutiveConnectFailures ?? EjectionSettings.DefaultConnectThreshold).ToString(CultureInfo.InvariantCulture));
        metadata.TryAdd(EjectionSettings.MaxReactivationPeriodKey, (defaults.MaxReactivationPeriod ?? EjectionSettings.DefaultMaxReactivationPeriod).ToString("c", CultureInfo.InvariantCulture));
        metadata.TryAdd(EjectionSettings.Count5xxKey, (defaults.Count5xx ?? false) ? "true" : "false");
        return ValueTask.FromResult(cluster with { Metadata = metadata });
    }

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel) =>
        ValueTask.FromResult(route);
}
