// The policies known to this process and their current settings.
// ASP.NET Core's output-cache options are built once (its named-policy map is internal), so the set of names is fixed
// at start; each name's settings are rebuilt after every accepted reload and apply from the next request.
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.OutputCaching;

internal sealed class OutputCachePolicies(IConfiguration configuration, IOptionsMonitor<OutputCachingOptions> options, ILogger<OutputCachePolicies> logger)
    : IDisposable
{
    private readonly StartupNamedPolicies<OutputCachingOptions, OutputCachePolicyOptions, PolicySettings> _named = new(
        configuration, $"{OutputCachingOptions.SectionPath}:Policies", StringComparer.OrdinalIgnoreCase, options,
        static o => o.Policies, static (_, policy) => new PolicySettings(policy), static (old, next) => old.SameAs(next),
        (name, settings) => Log.PolicyReloaded(logger, name, settings.Expire));

    /// <summary>Policy names present at start (case-insensitive, as YARP and ASP.NET Core look them up).</summary>
    public IReadOnlyList<string> RegisteredNames => _named.RegisteredNames;

    /// <summary>Current settings of a registered policy. Read on the request path: one volatile read and a dictionary lookup.</summary>
    public PolicySettings Get(string name) => _named.Get(name);

    /// <summary>Each policy binds; a route's <c>OutputCachePolicy</c> names one present at start.</summary>
    public void CheckRoutes(IConfiguration candidate, ICollection<string> errors) =>
        _named.CheckRoutes(candidate, "OutputCachePolicy", static _ => false, errors);

    public void Dispose() => _named.Dispose();
}
