// Key-path checks for CORS policies and for routes that name them; both run at start and before every reload.
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Cors;

internal sealed class GatewayCorsOptionsValidator : IValidateOptions<GatewayCorsOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayCorsOptions options)
    {
        var errors = new List<string>();
        foreach (var (policyName, policy) in options.Policies)
        {
            CorsValidation.ValidatePolicy(policyName, policy, errors);
        }

        return ConfigErrors.ToResult(errors);
    }
}

/// <summary>A route's <c>CorsPolicy</c> must name a policy (or be YARP's <c>Disable</c>, or <c>Default</c> with a policy of that name).</summary>
internal sealed class RouteCorsPolicyCheck : IGatewayConfigCheck
{
    public void Check(IConfiguration candidate, ICollection<string> errors)
    {
        var defined = ConfigErrors.BindEach<CorsPolicyOptions>(candidate.GetSection($"{GatewayCorsOptions.SectionPath}:Policies"), candidate, errors);
        foreach (var route in candidate.GetSection($"{ExtensionBlock.ReverseProxySection}:Routes").GetChildren())
        {
            var section = route.GetSection("CorsPolicy");
            var name = section.Value;
            if (string.IsNullOrEmpty(name) || string.Equals(name, CorsValidation.Disable, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var wanted = string.Equals(name, CorsValidation.Default, StringComparison.OrdinalIgnoreCase) ? CorsValidation.Default : name;
            if (!defined.Contains(wanted, StringComparer.Ordinal))
            {
                errors.Add(ConfigErrors.UnknownName(section.Path, name, "policy", $"{GatewayCorsOptions.SectionPath}:Policies", defined, "; \"Default\" uses the policy named Default, \"Disable\" none"));
            }
        }
    }
}

internal static class CorsValidation
{
    /// <summary>YARP's route value for the default policy; also the name of the policy that defines it.</summary>
    public const string Default = "Default";

    /// <summary>YARP's route value for no CORS; cannot name a policy.</summary>
    public const string Disable = "Disable";

    public static void ValidatePolicy(string name, CorsPolicyOptions policy, ICollection<string> errors)
    {
        var path = $"{GatewayCorsOptions.SectionPath}:Policies:{name}";
        if (string.Equals(name, Disable, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{path}: '{name}' is reserved by YARP (a route's CorsPolicy \"Disable\" turns CORS off); choose another name");
        }
        else if (string.Equals(name, Default, StringComparison.OrdinalIgnoreCase) && !string.Equals(name, Default, StringComparison.Ordinal))
        {
            errors.Add($"{path}: write 'Default' to define the policy of a route's CorsPolicy \"Default\"");
        }

        if (policy.AllowedOrigins.Count == 0)
        {
            errors.Add(ConfigErrors.Required($"{path}:AllowedOrigins", "at least one origin (e.g. \"https://app.example.com\")"));
        }

        for (var i = 0; i < policy.AllowedOrigins.Count; i++)
        {
            var origin = policy.AllowedOrigins[i];
            var originPath = $"{path}:AllowedOrigins:{i}";
            if (origin == "*")
            {
                if (policy.AllowCredentials)
                {
                    errors.Add(ConfigErrors.Invalid(originPath, origin, "cannot be used with AllowCredentials true (browsers refuse it, and it would let any site act with the user's credentials); list the origins"));
                }
            }
            else if (!IsOrigin(origin))
            {
                errors.Add(ConfigErrors.Invalid(originPath, origin, "is not an origin: scheme, host and optional port, no path or trailing slash (e.g. \"https://app.example.com\", \"https://*.example.com\")"));
            }
        }

        CheckTokens($"{path}:AllowedMethods", policy.AllowedMethods, errors);
        CheckTokens($"{path}:AllowedHeaders", policy.AllowedHeaders, errors);
        CheckTokens($"{path}:ExposedHeaders", policy.ExposedHeaders, errors);
        if (policy.MaxAge is { } maxAge && (maxAge < TimeSpan.Zero || maxAge > TimeSpan.FromDays(1)))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MaxAge", maxAge.ToString(), "must be between 00:00:00 and 1.00:00:00"));
        }
    }

    private static bool IsOrigin(string origin)
    {
        // A wildcard subdomain is checked as if it were a host label.
        var candidate = origin.Replace("://*.", "://wildcard.", StringComparison.Ordinal);
        return Uri.TryCreate(candidate, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.UserInfo.Length == 0
            && string.Equals(uri.GetLeftPart(UriPartial.Authority), candidate, StringComparison.OrdinalIgnoreCase);
    }

    private static void CheckTokens(string path, List<string> values, ICollection<string> errors)
    {
        for (var i = 0; i < values.Count; i++)
        {
            var value = values[i];
            if (value == "*")
            {
                continue;
            }

            if (!HttpToken.IsToken(value))
            {
                errors.Add(ConfigErrors.Invalid($"{path}:{i}", value, "is not a method or header name (or \"*\")"));
            }
        }
    }
}
