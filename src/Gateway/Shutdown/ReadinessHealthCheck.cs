using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Shutdown;

/// <summary>Readiness fails the moment draining starts, so Kubernetes stops sending new traffic.</summary>
internal sealed class ReadinessHealthCheck(DrainState state) : IHealthCheck
{
    private static readonly Task<HealthCheckResult> Ready = Task.FromResult(HealthCheckResult.Healthy("serving"));

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        state.IsDraining
            ? Task.FromResult(HealthCheckResult.Unhealthy($"draining ({state.Phase})"))
            : Ready;
}
