// An immutable, pre-computed view of one policy's options: built on start and on each reload, read per request.
using System.Globalization;
using StackExchange.Redis;

namespace Gateway.RateLimiting;

internal sealed class PolicySettings
{
    public PolicySettings(string name, RateLimitPolicyOptions options)
    {
        Name = name;
        Algorithm = options.Algorithm;
        PermitLimit = options.PermitLimit;
        Window = options.Window;
        SegmentsPerWindow = options.SegmentsPerWindow;
        TokensPerPeriod = options.TokensPerPeriod ?? options.PermitLimit;
        ReplenishmentPeriod = options.ReplenishmentPeriod ?? options.Window;
        QueueLimit = options.QueueLimit;
        FailureMode = options.FailureMode;
        // Validated before it gets here; ClientIp is the documented default.
        Partition = PartitionSpec.TryParse(options.PartitionBy, out var partition) ? partition : new PartitionSpec(PartitionKind.ClientIp, null);
        ModeTag = FailureMode switch
        {
            RateLimitFailureMode.Open => "open",
            RateLimitFailureMode.Closed => "closed",
            _ => "local",
        };
        ScriptArguments = Algorithm switch
        {
            RateLimitAlgorithm.FixedWindow => [PermitLimit, (long)Window.TotalMilliseconds],
            RateLimitAlgorithm.SlidingWindow => [PermitLimit, (long)Window.TotalMilliseconds, SegmentsPerWindow],
            RateLimitAlgorithm.TokenBucket => [PermitLimit, TokensPerPeriod, (long)ReplenishmentPeriod.TotalMilliseconds],
            _ => [],
        };
    }

    public string Name { get; }

    public RateLimitAlgorithm Algorithm { get; }

    public int PermitLimit { get; }

    public TimeSpan Window { get; }

    public int SegmentsPerWindow { get; }

    public int TokensPerPeriod { get; }

    public TimeSpan ReplenishmentPeriod { get; }

    public int QueueLimit { get; }

    public RateLimitFailureMode FailureMode { get; }

    public PartitionSpec Partition { get; }

    /// <summary>The <c>mode</c> tag of <c>gateway.ratelimit.fallbacks</c>.</summary>
    public string ModeTag { get; }

    /// <summary>Concurrency is a per-replica resource: a lease kept in Redis would leak when a replica dies holding it.</summary>
    public bool IsShareable => Algorithm != RateLimitAlgorithm.Concurrency;

    /// <summary>ARGV for this algorithm's script, built once per settings so a Redis check allocates no argument array.</summary>
    public RedisValue[] ScriptArguments { get; }

    /// <summary>The per-replica limiter: the only limiter without Redis, the fallback (FailureMode Local) when Redis is away.</summary>
    public System.Threading.RateLimiting.RateLimiter CreateLocalLimiter() => Algorithm switch
    {
        // AutoReplenishment off: ASP.NET Core's partitioned limiter calls TryReplenish every 100 ms, so partitions need no timer each.
        RateLimitAlgorithm.FixedWindow => new System.Threading.RateLimiting.FixedWindowRateLimiter(new()
        {
            PermitLimit = PermitLimit, Window = Window, QueueLimit = 0, AutoReplenishment = false,
        }),
        RateLimitAlgorithm.SlidingWindow => new System.Threading.RateLimiting.SlidingWindowRateLimiter(new()
        {
            PermitLimit = PermitLimit, Window = Window, SegmentsPerWindow = SegmentsPerWindow, QueueLimit = 0, AutoReplenishment = false,
        }),
        RateLimitAlgorithm.TokenBucket => new System.Threading.RateLimiting.TokenBucketRateLimiter(new()
        {
            TokenLimit = PermitLimit, TokensPerPeriod = TokensPerPeriod, ReplenishmentPeriod = ReplenishmentPeriod, QueueLimit = 0, AutoReplenishment = false,
        }),
        _ => new System.Threading.RateLimiting.ConcurrencyLimiter(new()
        {
            PermitLimit = PermitLimit, QueueLimit = QueueLimit, QueueProcessingOrder = System.Threading.RateLimiting.QueueProcessingOrder.OldestFirst,
        }),
    };

    public bool SameAs(PolicySettings other) =>
        Algorithm == other.Algorithm && PermitLimit == other.PermitLimit && Window == other.Window
        && SegmentsPerWindow == other.SegmentsPerWindow && TokensPerPeriod == other.TokensPerPeriod
        && ReplenishmentPeriod == other.ReplenishmentPeriod && QueueLimit == other.QueueLimit
        && FailureMode == other.FailureMode && Partition == other.Partition;

    /// <summary>Redis key for a partition; the algorithm is part of it so a reload that changes it never meets the old data type.</summary>
    public RedisKey RedisKey(string keyPrefix, PartitionKey partition)
    {
        var value = partition.Value;
        if (value.Length > 128)
        {
            // Bounded key size whatever a client puts in the header.
            value = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(value)));
        }

        return string.Create(CultureInfo.InvariantCulture, $"{keyPrefix}:ratelimit:{Name}:{Algorithm}:{partition.Kind}:{value}");
    }
}
