namespace Gateway.Retries;

/// <summary>A cluster's resolved retry settings (cluster block over <c>Gateway:Retry</c> over built-in values).</summary>
internal sealed record RetrySettings(bool Enabled, int MaxAttempts, int BudgetPercent, int MinRetriesPerSecond)
{
    public static readonly RetrySettings Off = new(false, 1, 0, 0);

    public static RetrySettings Resolve(RetryOptions? cluster, RetryOptions? defaults) => new(
        cluster?.Enabled ?? defaults?.Enabled ?? true,
        cluster?.MaxAttempts ?? defaults?.MaxAttempts ?? 2,
        cluster?.BudgetPercent ?? defaults?.BudgetPercent ?? 10,
        cluster?.MinRetriesPerSecond ?? defaults?.MinRetriesPerSecond ?? 10);
}
