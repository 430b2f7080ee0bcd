// Holds readiness at start until every discovered cluster has its first answer (a set or an error), for at most
// InitialSyncTimeout, so a new replica does not take traffic for a cluster it has no destinations for yet. Later
// failures never touch readiness: the last known endpoints keep serving.
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Discovery;

internal sealed class DiscoveryReadinessCheck(DiscoveryManager discovery, TimeProvider time) : IHealthCheck
{
    /// <summary>How long readiness waits at start for a cluster's first discovery result.</summary>
    internal static readonly TimeSpan InitialSyncTimeout = TimeSpan.FromSeconds(10);

    private static readonly Task<HealthCheckResult> Ready = Task.FromResult(HealthCheckResult.Healthy("discovery synced"));

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // The check is created per probe; the manager lives as long as the process.
        if (time.GetElapsedTime(discovery.CreatedAt) >= InitialSyncTimeout)
        {
            return Ready;
        }

        List<string>? waiting = null;
        foreach (var cluster in discovery.Clusters)
        {
            if (cluster.Provider is { Status: { HasSynced: false, LastErrorAt: null } })
            {
                (waiting ??= []).Add(cluster.ClusterId);
            }
        }

        return waiting is null
            ? Ready
            : Task.FromResult(HealthCheckResult.Unhealthy($"waiting for the first discovery of {string.Join(", ", waiting)}"));
    }
}
