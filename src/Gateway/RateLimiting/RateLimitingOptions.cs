using Gateway.Foundation;

namespace Gateway.RateLimiting;

/// <summary>Rate-limit policies, bound from <c>Gateway:RateLimiting</c>; routes pick one by name with YARP's <c>RateLimiterPolicy</c>.</summary>
internal sealed class RateLimitingOptions : IConfigBindable<RateLimitingOptions>
{
    public static RateLimitingOptions Read(IConfiguration section) => section.Get<RateLimitingOptions>() ?? new();

    public const string SectionPath = "Gateway:RateLimiting";

    /// <summary>Policies by name. Names are registered at start; a policy's settings may change on reload.</summary>
    public Dictionary<string, RateLimitPolicyOptions> Policies { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One policy, <c>Gateway:RateLimiting:Policies:&lt;name&gt;</c>.</summary>
internal sealed class RateLimitPolicyOptions : IConfigBindable<RateLimitPolicyOptions>
{
    public static RateLimitPolicyOptions Read(IConfiguration section) => section.Get<RateLimitPolicyOptions>() ?? new();

    /// <summary>FixedWindow (default), SlidingWindow, TokenBucket or Concurrency.</summary>
    public RateLimitAlgorithm Algorithm { get; set; } = RateLimitAlgorithm.FixedWindow;

    /// <summary>Requests per window; the bucket size for TokenBucket; requests in flight for Concurrency. Default 100.</summary>
    public int PermitLimit { get; set; } = 100;

    /// <summary>Window length for FixedWindow and SlidingWindow. Default 1 minute.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary><c>ClientIp</c> (default), <c>Header:&lt;name&gt;</c> (e.g. an API key; requests without it fall back to the client IP) or <c>Route</c>.</summary>
    public string PartitionBy { get; set; } = "ClientIp";

    /// <summary>What to do while Redis is down or slow: Local (default, per-replica limiter), Open (admit all), Closed (reject all).</summary>
    public RateLimitFailureMode FailureMode { get; set; } = RateLimitFailureMode.Local;

    /// <summary>SlidingWindow only: segments the window is split into. Default 4.</summary>
    public int SegmentsPerWindow { get; set; } = 4;

    /// <summary>TokenBucket only: tokens added every <see cref="ReplenishmentPeriod"/>. Default: <see cref="PermitLimit"/>.</summary>
    public int? TokensPerPeriod { get; set; }

    /// <summary>TokenBucket only: how often tokens are added. Default: <see cref="Window"/>.</summary>
    public TimeSpan? ReplenishmentPeriod { get; set; }

    /// <summary>Concurrency only: requests that may wait for a slot (oldest first). Default 0: reject at once.</summary>
    public int QueueLimit { get; set; }
}

internal enum RateLimitAlgorithm
{
    FixedWindow,
    SlidingWindow,
    TokenBucket,
    Concurrency,
}

internal enum RateLimitFailureMode
{
    Local,
    Open,
    Closed,
}
