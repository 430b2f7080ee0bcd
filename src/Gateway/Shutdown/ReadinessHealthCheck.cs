using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Shutdown;

/// <summary>
/// Ready once every listener is bound (the host's ApplicationStarted: Kestrel binds endpoints one by one, so the
/// management listener can answer while a proxy endpoint configured after it is not yet listening), and not ready the
/// moment draining starts, so Kubernetes stops sending new traffic.
/// </summary>
internal sealed class ReadinessHealthCheck(DrainState state, IHostApplicationLifetime lifetime) : IHealthCheck
{
    private static readonly Task<HealthCheckResult> Ready = Task.FromResult(HealthCheckResult.Healthy("serving"));
    private static readonly Task<HealthCheckResult> Starting = Task.FromResult(HealthCheckResult.Unhealthy("starting: not every listener is bound yet"));

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        state.IsDraining ? Task.FromResult(HealthCheckResult.Unhealthy($"draining ({state.Phase})"))
        : !lifetime.ApplicationStarted.IsCancellationRequested ? Starting
        : Ready;
}
