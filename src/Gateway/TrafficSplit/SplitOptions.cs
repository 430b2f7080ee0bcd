using Gateway.Foundation;

namespace Gateway.TrafficSplit;

/// <summary>
/// A route's weighted split, <c>ReverseProxy:Routes:&lt;id&gt;:Split</c>. Each request (or, with <see cref="Sticky"/>,
/// each new session) goes to one of <see cref="Clusters"/> by weight; the route's own <c>ClusterId</c> is the fallback
/// when the chosen cluster has no available destination.
/// </summary>
internal sealed class SplitOptions : IConfigBindable<SplitOptions>
{
    public static SplitOptions Read(IConfiguration section) => section.Get<SplitOptions>() ?? new();

    public const string BlockName = "Split";

    public static readonly ExtensionBlock<SplitOptions> Block = new(ExtensionScope.Route, BlockName, defaultsSectionPath: null, SplitValidation.Validate);

    /// <summary>Cluster id to integer weight (0 = no new sessions; sticky cohorts already there stay).</summary>
    public Dictionary<string, int> Clusters { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Keep each session on the cluster it was first given, in an encrypted cookie valid on every replica.</summary>
    public bool Sticky { get; set; }

    /// <summary>The cohort cookie's name (default <c>.Gateway.Cohort.&lt;route id&gt;</c>).</summary>
    public string? CookieName { get; set; }

    /// <summary>How long a cohort lasts (default 1 day).</summary>
    public TimeSpan? CookieMaxAge { get; set; }

    /// <summary>A request header that forces a cluster: only the values listed map to a cluster, others are ignored.</summary>
    public SplitOverride? Header { get; set; }

    /// <summary>A request cookie that forces a cluster, like <see cref="Header"/>.</summary>
    public SplitOverride? Cookie { get; set; }
}

/// <summary>An override: the header or cookie name and the values that force a cluster (value to cluster id).</summary>
internal sealed class SplitOverride
{
    public string? Name { get; set; }

    public Dictionary<string, string> Values { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// A route's request mirroring, <c>ReverseProxy:Routes:&lt;id&gt;:Mirror</c>: a share of requests is copied to a
/// shadow cluster, fire-and-forget; the shadow's responses are discarded.
/// </summary>
internal sealed class MirrorOptions : IConfigBindable<MirrorOptions>
{
    public static MirrorOptions Read(IConfiguration section) => section.Get<MirrorOptions>() ?? new();

    public const string BlockName = "Mirror";

    public static readonly ExtensionBlock<MirrorOptions> Block = new(ExtensionScope.Route, BlockName, defaultsSectionPath: null, SplitValidation.Validate);

    public string? ClusterId { get; set; }

    /// <summary>Share of the route's requests copied, 0-100 (default 100).</summary>
    public double Percent { get; set; } = 100;

    /// <summary>Bodies up to this size are buffered for the copy; larger ones are not mirrored (default 64 KiB).</summary>
    public int MaxBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Copies in flight toward the shadow at most; beyond it copies are dropped and counted (default 100).</summary>
    public int MaxConcurrent { get; set; } = 100;

    /// <summary>How long a copy may take before it is abandoned (default 10 s).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}
