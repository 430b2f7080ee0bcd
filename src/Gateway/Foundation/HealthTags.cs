namespace Gateway.Foundation;

/// <summary>Health-check tags: a capability tags its check, the management listener decides which probe runs it.</summary>
internal static class HealthTags
{
    /// <summary>Checks run by <c>GET /healthz/ready</c> (liveness runs none).</summary>
    public const string Readiness = "ready";
}
