// ASP.NET Core CORS policies from Gateway:Cors:Policies, rebuilt after every accepted reload.
// Gap: ASP.NET Core's policies are code registered at start, and YARP's route CorsPolicy can only name those.
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace Gateway.Cors;

internal sealed class ConfigCorsPolicyProvider : ICorsPolicyProvider, IDisposable
{
    private static readonly Task<CorsPolicy?> None = Task.FromResult<CorsPolicy?>(null);

    // Answers a name no current policy has: allows no origin. Routes are checked against the candidate config before
    // it is applied (RouteCorsPolicyCheck), so a request never meets it; YARP's own validator asks this provider while
    // the candidate is not yet in force, and must not refuse a policy the candidate adds.
    private static readonly Task<CorsPolicy?> Unknown = Task.FromResult<CorsPolicy?>(new CorsPolicyBuilder().Build());

    private readonly IOptionsMonitor<GatewayCorsOptions> _options;
    private readonly IDisposable? _subscription;
    private volatile Dictionary<string, Task<CorsPolicy?>>? _policies;

    public ConfigCorsPolicyProvider(IOptionsMonitor<GatewayCorsOptions> options)
    {
        _options = options;
        _subscription = options.OnChange(_ => Rebuild());
    }

    public Task<CorsPolicy?> GetPolicyAsync(HttpContext context, string? policyName)
    {
        var policies = _policies ?? Rebuild();
        if (policyName is null)
        {
            // The CORS middleware asks with no name for a route of YARP's "Default", and also for a route with no
            // CorsPolicy at all: only the first gets the policy named Default; the second is left to its upstream.
            return context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Cors.Infrastructure.IEnableCorsAttribute>() is null
                ? None
                : policies.GetValueOrDefault(CorsValidation.Default, None);
        }

        // YARP reserves these as route values and refuses a config whose provider also knows them as names.
        if (string.Equals(policyName, CorsValidation.Default, StringComparison.OrdinalIgnoreCase)
            || string.Equals(policyName, CorsValidation.Disable, StringComparison.OrdinalIgnoreCase))
        {
            return None;
        }

        return policies.TryGetValue(policyName, out var policy) ? policy : Unknown;
    }

    private Dictionary<string, Task<CorsPolicy?>> Rebuild()
    {
        var policies = new Dictionary<string, Task<CorsPolicy?>>(StringComparer.Ordinal);
        foreach (var (name, options) in _options.CurrentValue.Policies)
        {
            policies[name] = Task.FromResult<CorsPolicy?>(Build(options));
        }

        // A removed policy stays for the moment between this options change and YARP's switch of the routes that named
        // it (validation refuses a config whose routes still do).
        if (_policies is { } previous)
        {
            foreach (var (name, policy) in previous)
            {
                policies.TryAdd(name, policy);
            }
        }

        _policies = policies;
        return policies;
    }

    private static CorsPolicy Build(CorsPolicyOptions options)
    {
        var builder = new CorsPolicyBuilder();
        if (options.AllowedOrigins.Contains("*"))
        {
            builder.AllowAnyOrigin();
        }
        else
        {
            builder.WithOrigins([.. options.AllowedOrigins]);
            if (options.AllowedOrigins.Exists(static o => o.Contains("://*.", StringComparison.Ordinal)))
            {
                builder.SetIsOriginAllowedToAllowWildcardSubdomains();
            }
        }

        if (options.AllowedMethods.Contains("*"))
        {
            builder.AllowAnyMethod();
        }
        else
        {
            builder.WithMethods(options.AllowedMethods.Count > 0 ? [.. options.AllowedMethods] : ["GET", "HEAD", "POST"]);
        }

        if (options.AllowedHeaders.Contains("*"))
        {
            builder.AllowAnyHeader();
        }
        else
        {
            builder.WithHeaders([.. options.AllowedHeaders]);
        }

        builder.WithExposedHeaders([.. options.ExposedHeaders]);
        if (options.AllowCredentials)
        {
            builder.AllowCredentials();
        }
        else
        {
            builder.DisallowCredentials();
        }

        if (options.MaxAge is { } maxAge)
        {
            builder.SetPreflightMaxAge(maxAge);
        }

        return builder.Build();
    }

    public void Dispose() => _subscription?.Dispose();
}
