using Gateway.Foundation;

namespace Gateway.PassiveHealth;

/// <summary>
/// <c>Gateway:PassiveHealth</c>: passive health checking for clusters whose <c>HealthCheck:Passive</c> block is unset,
/// and the defaults of the <c>ConsecutiveFailures</c> passive policy (outlier ejection). A cluster overrides the policy
/// values with its <c>Metadata</c> keys <c>PassiveHealth.ConsecutiveFailures</c>, <c>PassiveHealth.ConsecutiveConnectFailures</c>, <c>PassiveHealth.MaxReactivationPeriod</c>
/// and <c>PassiveHealth.Count5xx</c>.
/// </summary>
internal sealed class PassiveHealthDefaultsOptions : IConfigBindable<PassiveHealthDefaultsOptions>
{
    public static PassiveHealthDefaultsOptions Read(IConfiguration section) => section.Get<PassiveHealthDefaultsOptions>() ?? new();

    public const string SectionPath = "Gateway:PassiveHealth";

    /// <summary>Defaults only (no block inside a cluster): carried into every cluster so a change reaches YARP as a cluster change.</summary>
    public static readonly ExtensionBlock<PassiveHealthDefaultsOptions> Block = new(ExtensionScope.Cluster, name: null, SectionPath);

    /// <summary>Turn passive health on for clusters that leave it unset (built-in: true).</summary>
    public bool? Enabled { get; set; }

    /// <summary>Passive policy for those clusters (built-in: <c>ConsecutiveFailures</c>; YARP's is <c>TransportFailureRate</c>).</summary>
    public string? Policy { get; set; }

    /// <summary>How long an ejected destination stays out before it is probed with live traffic (built-in: 00:00:10).</summary>
    public TimeSpan? ReactivationPeriod { get; set; }

    /// <summary>Consecutive failed requests that eject a destination (built-in: 3).</summary>
    public int? ConsecutiveFailures { get; set; }

    /// <summary>
    /// Failed connects in a row (refused, unreachable: nothing listens there) that eject a destination (built-in: 1).
    /// A refused connect is unambiguous, unlike a reset or a 5xx, and waiting for more only fails more requests.
    /// </summary>
    public int? ConsecutiveConnectFailures { get; set; }

    /// <summary>Cap of the doubling back-off for a destination that fails again right after reactivation (built-in: 00:02:00).</summary>
    public TimeSpan? MaxReactivationPeriod { get; set; }

    /// <summary>Count 5xx responses as failures, not only transport failures and timeouts (built-in: false).</summary>
    public bool? Count5xx { get; set; }
}
