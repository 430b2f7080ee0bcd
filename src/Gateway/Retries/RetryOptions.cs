using Gateway.Foundation;

namespace Gateway.Retries;

/// <summary>
/// Safe retries. <c>Gateway:Retry</c> holds the defaults for every cluster;
/// <c>ReverseProxy:Clusters:&lt;id&gt;:Retry</c> overrides any of them for one cluster.
/// Only requests that provably did not reach the upstream (connect failed) are retried for any method; idempotent
/// requests without a body are also retried when the connection broke before a response arrived.
/// </summary>
internal sealed class RetryOptions : IConfigBindable<RetryOptions>
{
    public static RetryOptions Read(IConfiguration section) => section.Get<RetryOptions>() ?? new();

    public const string DefaultsSectionPath = "Gateway:Retry";
    public const string ClusterBlockName = "Retry";

    /// <summary>The per-cluster block with its defaults, as the config reader validates and carries it.</summary>
    public static readonly ExtensionBlock<RetryOptions> Block = new(
        ExtensionScope.Cluster, ClusterBlockName, DefaultsSectionPath, static (options, block, errors) => RetryValidation.ValidateRetry(options, block.Path, errors));

    /// <summary>Retry at all (built-in: true). Set false to turn retries off for a cluster or everywhere.</summary>
    public bool? Enabled { get; set; }

    /// <summary>Attempts per request including the first, each on a different healthy destination (built-in: 2; 1..5).</summary>
    public int? MaxAttempts { get; set; }

    /// <summary>
    /// Retries allowed as a percentage of first attempts, per cluster (built-in: 10; 0..100). A token bucket: every first
    /// attempt adds BudgetPercent/100 of a token (up to <see cref="RetryBudget.MaxTokens"/>), every retry spends one,
    /// so during an outage retries add at most this much load (plus <see cref="MinRetriesPerSecond"/>).
    /// </summary>
    public int? BudgetPercent { get; set; }

    /// <summary>
    /// Retries a second always allowed on top of <see cref="BudgetPercent"/>, per cluster and replica (built-in: 10;
    /// 0..1000; at most one second's worth banked), as Linkerd's minRetriesPerSecond: at low traffic the percentage has
    /// banked almost nothing when a pod dies. Upstreams see at most (1 + BudgetPercent/100) x requests + this, a second.
    /// </summary>
    public int? MinRetriesPerSecond { get; set; }
}
