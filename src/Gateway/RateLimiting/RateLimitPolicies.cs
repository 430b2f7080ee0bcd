// The policies known to this process and their current settings.
// ASP.NET Core's rate limiter copies its policy map once, so the set of names is fixed at start; each name's settings
// are re-read from IOptionsMonitor after every accepted reload, and partitions pick them up on their next request.
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.RateLimiting;

internal sealed class RateLimitPolicies(IConfiguration configuration, IOptionsMonitor<RateLimitingOptions> options, ILogger<RateLimitPolicies> logger)
    : IDisposable
{
    private readonly StartupNamedPolicies<RateLimitingOptions, RateLimitPolicyOptions, PolicySettings> _named = new(
        configuration, $"{RateLimitingOptions.SectionPath}:Policies", StringComparer.Ordinal, options,
        static o => o.Policies, static (name, policy) => new PolicySettings(name, policy), static (old, next) => old.SameAs(next),
        (name, settings) => Log.PolicyReloaded(logger, name, settings.Algorithm.ToString(), settings.PermitLimit, settings.Window));

    /// <summary>Policy names present at start: the ones registered with ASP.NET Core's rate limiter.</summary>
    public IReadOnlyList<string> RegisteredNames => _named.RegisteredNames;

    public bool IsRegistered(string name) => _named.IsRegistered(name);

    /// <summary>Current settings of a registered policy (unchanged settings keep their instance, so partitions keep their counts).</summary>
    public PolicySettings Get(string name) => _named.Get(name);

    /// <summary>Each policy binds; a route's <c>RateLimiterPolicy</c> names one present at start.</summary>
    public void CheckRoutes(IConfiguration candidate, ICollection<string> errors) =>
        _named.CheckRoutes(candidate, "RateLimiterPolicy", RateLimitingOptionsValidator.IsReservedName, errors);

    public void Dispose() => _named.Dispose();
}
