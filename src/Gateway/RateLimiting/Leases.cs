// Leases for decisions taken in Redis or by FailureMode; no state to release.
using System.Threading.RateLimiting;

namespace Gateway.RateLimiting;

internal static class Leases
{
    public static readonly RateLimitLease Admitted = new DecisionLease(true, null);

    /// <summary>Not decided yet (needs Redis); ASP.NET Core's middleware then calls AcquireAsync.</summary>
    public static readonly RateLimitLease Pending = new DecisionLease(false, null);

    public static RateLimitLease Rejected(TimeSpan retryAfter) => new DecisionLease(false, retryAfter);

    private sealed class DecisionLease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        private static readonly string[] RetryAfterOnly = [MetadataName.RetryAfter.Name];

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : RetryAfterOnly;

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } value && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = value;
                return true;
            }

            metadata = null;
            return false;
        }
    }
}
