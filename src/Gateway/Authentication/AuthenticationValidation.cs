// Key-path checks for schemes, policies, the routes that name them and the routes' Authentication blocks; all run at
// start and before every reload is accepted.
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Authentication;

internal sealed class GatewayAuthenticationOptionsValidator : IValidateOptions<GatewayAuthenticationOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayAuthenticationOptions options)
    {
        var errors = new List<string>();
        foreach (var (schemeName, scheme) in options.Schemes)
        {
            AuthenticationValidation.ValidateScheme(schemeName, scheme, errors);
        }

        return ConfigErrors.ToResult(errors);
    }
}

internal sealed class GatewayAuthorizationOptionsValidator : IValidateOptions<GatewayAuthorizationOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayAuthorizationOptions options)
    {
        var errors = new List<string>();
        foreach (var (policyName, policy) in options.Policies)
        {
            AuthenticationValidation.ValidatePolicy(policyName, policy, errors);
        }

        return ConfigErrors.ToResult(errors);
    }
}

/// <summary>
/// Across sections: a policy's schemes must exist, and a route's <c>AuthorizationPolicy</c> must name a policy (or be
/// YARP's <c>Default</c> / <c>Anonymous</c>). Without this the route would answer every request with a 403.
/// </summary>
internal sealed class AuthenticationReferencesCheck : IGatewayConfigCheck
{
    public void Check(IConfiguration candidate, ICollection<string> errors)
    {
        var schemes = ConfigErrors.BindEach<JwtSchemeOptions>(candidate.GetSection($"{GatewayAuthenticationOptions.SectionPath}:Schemes"), candidate, errors);
        var policySection = candidate.GetSection($"{GatewayAuthorizationOptions.SectionPath}:Policies");
        var policies = ConfigErrors.BindEach<AuthorizationPolicyOptions>(policySection, candidate, errors);
        foreach (var policy in policySection.GetChildren())
        {
            List<string> listed;
            try
            {
                listed = policy.Get<AuthorizationPolicyOptions>()?.Schemes ?? [];
            }
            catch (InvalidOperationException)
            {
                continue; // reported above
            }

            if (schemes.Count == 0)
            {
                errors.Add($"{policy.Path}: a policy needs a scheme, and none is defined under {GatewayAuthenticationOptions.SectionPath}:Schemes");
                continue;
            }

            for (var i = 0; i < listed.Count; i++)
            {
                if (!schemes.Contains(listed[i], StringComparer.Ordinal))
                {
                    errors.Add(ConfigErrors.UnknownName($"{policy.Path}:Schemes:{i}", listed[i], "scheme", $"{GatewayAuthenticationOptions.SectionPath}:Schemes", schemes));
                }
            }
        }

        foreach (var route in candidate.GetSection($"{ExtensionBlock.ReverseProxySection}:Routes").GetChildren())
        {
            var section = route.GetSection("AuthorizationPolicy");
            var name = section.Value;
            if (string.IsNullOrEmpty(name) || string.Equals(name, AuthenticationValidation.Anonymous, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (string.Equals(name, AuthenticationValidation.Default, StringComparison.OrdinalIgnoreCase))
            {
                if (schemes.Count == 0)
                {
                    errors.Add(ConfigErrors.Invalid(section.Path, name, $"requires an authenticated user, and no scheme is defined under {GatewayAuthenticationOptions.SectionPath}:Schemes"));
                }
            }
            else if (!policies.Contains(name, StringComparer.Ordinal))
            {
                errors.Add(ConfigErrors.UnknownName(section.Path, name, "policy", $"{GatewayAuthorizationOptions.SectionPath}:Policies", policies, "; YARP's own: Default, Anonymous"));
            }
        }
    }
}

internal static class AuthenticationValidation
{
    /// <summary>YARP's route value for the default policy; also the name of the policy that defines it.</summary>
    public const string Default = "Default";

    /// <summary>YARP's route value for no authorization; cannot name a policy.</summary>
    public const string Anonymous = "Anonymous";

    public static void ValidateScheme(string name, JwtSchemeOptions scheme, ICollection<string> errors)
    {
        var path = $"{GatewayAuthenticationOptions.SectionPath}:Schemes:{name}";
        if (!string.Equals(scheme.Type, "JwtBearer", StringComparison.Ordinal))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:Type", scheme.Type, "is not a scheme type (known: JwtBearer)"));
        }

        var discovery = scheme.Authority is { Length: > 0 } || scheme.MetadataAddress is { Length: > 0 };
        var jwks = scheme.JwksUri is { Length: > 0 };
        if (!discovery && !jwks)
        {
            errors.Add($"{path}: one of Authority, MetadataAddress (OpenID Connect discovery) or JwksUri (keys only) is required");
        }
        else if (discovery && jwks)
        {
            errors.Add($"{path}:JwksUri: '{scheme.JwksUri}' is set with Authority or MetadataAddress; use discovery or a JWKS URI, not both");
        }

        CheckUri($"{path}:Authority", scheme.Authority, scheme.RequireHttpsMetadata, errors);
        CheckUri($"{path}:MetadataAddress", scheme.MetadataAddress, scheme.RequireHttpsMetadata, errors);
        CheckUri($"{path}:JwksUri", scheme.JwksUri, scheme.RequireHttpsMetadata, errors);
        if (jwks && scheme.Issuer is not { Length: > 0 })
        {
            errors.Add(ConfigErrors.Required($"{path}:Issuer", "the accepted issuer (with JwksUri there is no discovery document to take it from)"));
        }

        if (scheme.Audiences.Count == 0)
        {
            errors.Add(ConfigErrors.Required($"{path}:Audiences", "at least one accepted audience (a token for another API must not pass)"));
        }

        for (var i = 0; i < scheme.Audiences.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(scheme.Audiences[i]))
            {
                errors.Add(ConfigErrors.Invalid($"{path}:Audiences:{i}", scheme.Audiences[i], "is empty"));
            }
        }

        if (scheme.ClockSkew < TimeSpan.Zero || scheme.ClockSkew > TimeSpan.FromHours(1))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:ClockSkew", scheme.ClockSkew.ToString(), "must be between 00:00:00 and 01:00:00"));
        }

        // IdentityModel's ConfigurationManager refuses shorter intervals (it throws when they are set).
        if (scheme.RefreshInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:RefreshInterval", scheme.RefreshInterval.ToString(), "must be at least 00:00:01"));
        }

        if (scheme.AutomaticRefreshInterval < TimeSpan.FromMinutes(5))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:AutomaticRefreshInterval", scheme.AutomaticRefreshInterval.ToString(), "must be at least 00:05:00"));
        }

        if (string.IsNullOrWhiteSpace(scheme.RoleClaim))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:RoleClaim", scheme.RoleClaim, "is empty"));
        }
    }

    public static void ValidatePolicy(string name, AuthorizationPolicyOptions policy, ICollection<string> errors)
    {
        var path = $"{GatewayAuthorizationOptions.SectionPath}:Policies:{name}";
        if (string.Equals(name, Anonymous, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{path}: '{name}' is reserved by YARP (a route's AuthorizationPolicy \"Anonymous\" means no authorization); choose another name");
        }
        else if (string.Equals(name, Default, StringComparison.OrdinalIgnoreCase) && !string.Equals(name, Default, StringComparison.Ordinal))
        {
            errors.Add($"{path}: write 'Default' to define the policy of a route's AuthorizationPolicy \"Default\"");
        }

        if (!policy.RequireAuthenticatedUser && policy.RequireClaims.Count == 0 && policy.RequireRoles.Count == 0)
        {
            errors.Add($"{path}: a policy needs a requirement (RequireAuthenticatedUser, RequireClaims or RequireRoles); a route without one uses \"AuthorizationPolicy\": \"Anonymous\"");
        }

        foreach (var (claim, values) in policy.RequireClaims)
        {
            if (values.Count == 0)
            {
                errors.Add(ConfigErrors.Required($"{path}:RequireClaims:{claim}", "at least one accepted value"));
            }

            for (var i = 0; i < values.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(values[i]))
                {
                    errors.Add(ConfigErrors.Invalid($"{path}:RequireClaims:{claim}:{i}", values[i], "is empty"));
                }
            }
        }

        for (var i = 0; i < policy.RequireRoles.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(policy.RequireRoles[i]))
            {
                errors.Add(ConfigErrors.Invalid($"{path}:RequireRoles:{i}", policy.RequireRoles[i], "is empty"));
            }
        }
    }

    public static void ValidateRouteBlock(RouteAuthenticationOptions options, IConfigurationSection block, ICollection<string> errors)
    {
        foreach (var (header, claim) in options.ClaimHeaders)
        {
            var path = $"{block.Path}:ClaimHeaders:{header}";
            if (!HttpToken.IsToken(header))
            {
                errors.Add($"{path}: '{header}' is not a header name");
            }
            else if (IsReservedHeader(header))
            {
                errors.Add($"{path}: '{header}' is a header the gateway or HTTP itself controls; choose another name (e.g. X-User-Id)");
            }

            if (string.IsNullOrWhiteSpace(claim))
            {
                errors.Add(ConfigErrors.Invalid(path, claim, "is not a claim type (e.g. \"sub\")"));
            }
        }
    }

    private static void CheckUri(string path, string? value, bool requireHttps, ICollection<string> errors)
    {
        if (value is not { Length: > 0 })
        {
            return;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            errors.Add(ConfigErrors.Invalid(path, value, "is not an absolute http(s) URL"));
        }
        else if (requireHttps && uri.Scheme != Uri.UriSchemeHttps)
        {
            errors.Add(ConfigErrors.Invalid(path, value, "is not HTTPS; keys fetched over plain HTTP can be replaced on the way (RequireHttpsMetadata false allows it, for a loopback test identity provider only)"));
        }
    }

    private static bool IsReservedHeader(string header) =>
        header.Equals("Authorization", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Host", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Connection", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Cookie", StringComparison.OrdinalIgnoreCase)
        || header.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase);
}
