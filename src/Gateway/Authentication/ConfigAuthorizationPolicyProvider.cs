// ASP.NET Core authorization policies from Gateway:Authorization:Policies, rebuilt after every accepted reload.
// Gap: ASP.NET Core's policies are code registered at start, and YARP's route AuthorizationPolicy can only name those.
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Gateway.Authentication;

internal sealed class ConfigAuthorizationPolicyProvider : IAuthorizationPolicyProvider, IDisposable
{
    private static readonly Task<AuthorizationPolicy?> None = Task.FromResult<AuthorizationPolicy?>(null);

    // Answers a name no current policy has. Routes are checked against the candidate config before it is applied
    // (AuthenticationReferencesCheck), so a request never meets it; YARP's own validator, which asks this provider
    // while the candidate is not yet in force, must not refuse a policy the candidate adds. Fails closed.
    private static readonly Task<AuthorizationPolicy?> Unknown =
        Task.FromResult<AuthorizationPolicy?>(new AuthorizationPolicyBuilder().RequireAssertion(static _ => false).Build());

    private readonly IOptionsMonitor<GatewayAuthenticationOptions> _schemes;
    private readonly IOptionsMonitor<GatewayAuthorizationOptions> _policies;
    private readonly ILogger<ConfigAuthorizationPolicyProvider> _logger;
    private readonly IDisposable?[] _subscriptions;
    private volatile Snapshot? _snapshot;

    public ConfigAuthorizationPolicyProvider(
        IOptionsMonitor<GatewayAuthenticationOptions> schemes,
        IOptionsMonitor<GatewayAuthorizationOptions> policies,
        ILogger<ConfigAuthorizationPolicyProvider> logger)
    {
        _schemes = schemes;
        _policies = policies;
        _logger = logger;
        _subscriptions = [schemes.OnChange(_ => Rebuild()), policies.OnChange(_ => Rebuild())];
    }

    /// <summary>Policies change with the config, so the authorization middleware must not cache them per endpoint.</summary>
    public bool AllowsCachingPolicies => false;

    public Task<AuthorizationPolicy> GetDefaultPolicyAsync() => Current.Default;

    /// <summary>No fallback: a route without <c>AuthorizationPolicy</c> is not authorized by the gateway.</summary>
    public Task<AuthorizationPolicy?> GetFallbackPolicyAsync() => None;

    public Task<AuthorizationPolicy?> GetPolicyAsync(string policyName)
    {
        // YARP reserves these as route values and refuses a config whose provider also knows them as names.
        if (string.Equals(policyName, AuthenticationValidation.Default, StringComparison.OrdinalIgnoreCase)
            || string.Equals(policyName, AuthenticationValidation.Anonymous, StringComparison.OrdinalIgnoreCase))
        {
            return None;
        }

        return Current.Named.TryGetValue(policyName, out var policy) ? policy : Unknown;
    }

    private Snapshot Current => _snapshot ?? Rebuild();

    private Snapshot Rebuild()
    {
        var schemes = new List<string>(_schemes.CurrentValue.Schemes.Keys);
        var named = new Dictionary<string, Task<AuthorizationPolicy?>>(StringComparer.Ordinal);
        Task<AuthorizationPolicy>? defaultPolicy = null;
        foreach (var (name, options) in _policies.CurrentValue.Policies)
        {
            var policy = Build(options, schemes);
            if (string.Equals(name, AuthenticationValidation.Default, StringComparison.Ordinal))
            {
                defaultPolicy = Task.FromResult(policy);
            }
            else
            {
                named[name] = Task.FromResult<AuthorizationPolicy?>(policy);
            }
        }

        // A removed policy stays for the moment between this options change and YARP's switch of the routes that named
        // it (validation refuses a config whose routes still do), so those requests are not refused meanwhile.
        if (_snapshot is { } previous)
        {
            foreach (var (name, policy) in previous.Named)
            {
                named.TryAdd(name, policy);
            }
        }

        // YARP's "Default" without a policy of that name: an authenticated user of any scheme (ASP.NET Core's default).
        defaultPolicy ??= Task.FromResult(schemes.Count == 0
            ? Unknown.Result!
            : new AuthorizationPolicyBuilder([.. schemes]).RequireAuthenticatedUser().Build());
        var snapshot = new Snapshot(named, defaultPolicy);
        _snapshot = snapshot;
        if (named.Count > 0)
        {
            Log.PoliciesReloaded(_logger, named.Count); // a gateway without policies stays quiet on every reload
        }

        return snapshot;
    }

    private static AuthorizationPolicy Build(AuthorizationPolicyOptions options, List<string> allSchemes)
    {
        var builder = new AuthorizationPolicyBuilder(options.Schemes.Count > 0 ? [.. options.Schemes] : [.. allSchemes]);
        if (options.RequireAuthenticatedUser)
        {
            builder.RequireAuthenticatedUser();
        }

        foreach (var (claim, values) in options.RequireClaims)
        {
            if (ScopeClaims.IsScope(claim))
            {
                builder.AddRequirements(new ScopeClaimRequirement(claim, [.. values]));
            }
            else
            {
                builder.RequireClaim(claim, values);
            }
        }

        if (options.RequireRoles.Count > 0)
        {
            builder.RequireRole(options.RequireRoles);
        }

        return builder.Build();
    }

    public void Dispose()
    {
        foreach (var subscription in _subscriptions)
        {
            subscription?.Dispose();
        }
    }

    private sealed record Snapshot(Dictionary<string, Task<AuthorizationPolicy?>> Named, Task<AuthorizationPolicy> Default);
}
