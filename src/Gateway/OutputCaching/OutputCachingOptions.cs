using Gateway.Foundation;

namespace Gateway.OutputCaching;

/// <summary>
/// Output-cache policies, bound from <c>Gateway:OutputCache</c>; routes pick one by name with YARP's
/// <c>OutputCachePolicy</c>. Entries live in Redis when <c>Gateway:Redis</c> is set (shared by every replica), in
/// this process's memory otherwise.
/// </summary>
internal sealed class OutputCachingOptions : IConfigBindable<OutputCachingOptions>
{
    public static OutputCachingOptions Read(IConfiguration section) => section.Get<OutputCachingOptions>() ?? new();

    public const string SectionPath = "Gateway:OutputCache";

    /// <summary>Policies by name (case-insensitive, as YARP and ASP.NET Core look them up). Names are registered at start; settings reload.</summary>
    public Dictionary<string, OutputCachePolicyOptions> Policies { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>One policy, <c>Gateway:OutputCache:Policies:&lt;name&gt;</c>. Only GET and HEAD requests answered 200 are cached.</summary>
internal sealed class OutputCachePolicyOptions : IConfigBindable<OutputCachePolicyOptions>
{
    public static OutputCachePolicyOptions Read(IConfiguration section) => section.Get<OutputCachePolicyOptions>() ?? new();

    /// <summary>How long an entry is served. Default 30 seconds.</summary>
    public TimeSpan Expire { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Query keys that tell entries apart. Empty or unset (default): every query key (ASP.NET Core's default, so
    /// <c>?id=1</c> and <c>?id=2</c> never share an entry); a list: only those keys, the others are ignored.
    /// </summary>
    public string[]? VaryByQuery { get; set; }

    /// <summary>Request headers that tell entries apart (e.g. <c>Accept-Language</c>). Default: none.</summary>
    public string[]? VaryByHeader { get; set; }

    /// <summary>
    /// Cache responses to requests that carry an <c>Authorization</c> header (or an authenticated user). Default false:
    /// they bypass the cache. With true, one user's response is served to every user unless <c>VaryByHeader</c> names
    /// <c>Authorization</c>.
    /// </summary>
    public bool CacheAuthenticated { get; set; }

    /// <summary>Cache responses that set a cookie. Default false: a <c>Set-Cookie</c> response is forwarded, never stored.</summary>
    public bool CacheSetCookie { get; set; }
}
