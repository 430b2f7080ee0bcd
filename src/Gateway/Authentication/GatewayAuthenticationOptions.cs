namespace Gateway.Authentication;

/// <summary>Authentication schemes, bound from <c>Gateway:Authentication</c>; authorization policies name them.</summary>
internal sealed class GatewayAuthenticationOptions
{
    public const string SectionPath = "Gateway:Authentication";

    /// <summary>Schemes by name (names are case-sensitive). Added, changed and removed schemes apply on reload.</summary>
    public Dictionary<string, JwtSchemeOptions> Schemes { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>One scheme, <c>Gateway:Authentication:Schemes:&lt;name&gt;</c>, validated by ASP.NET Core's JwtBearer handler.</summary>
internal sealed class JwtSchemeOptions
{
    /// <summary><c>JwtBearer</c>, the only type (and the default).</summary>
    public string Type { get; init; } = "JwtBearer";

    /// <summary>The issuer's base URL; its discovery document is <c>{Authority}/.well-known/openid-configuration</c>.</summary>
    public string? Authority { get; init; }

    /// <summary>The discovery document's URL, when it is not under <see cref="Authority"/>.</summary>
    public string? MetadataAddress { get; init; }

    /// <summary>A JWKS URL to take the signing keys from, without discovery (then <see cref="Issuer"/> is required).</summary>
    public string? JwksUri { get; init; }

    /// <summary>The accepted <c>iss</c>. Default: the discovery document's <c>issuer</c>.</summary>
    public string? Issuer { get; init; }

    /// <summary>Accepted <c>aud</c> values; a token must carry one. Required.</summary>
    public List<string> Audiences { get; init; } = [];

    /// <summary>Metadata and keys only over HTTPS. Default true; false only for a loopback identity provider in tests.</summary>
    public bool RequireHttpsMetadata { get; init; } = true;

    /// <summary>Tolerance for <c>exp</c> and <c>nbf</c>. Default 1 minute.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Least time between two refreshes forced by a token signed with an unknown key (<c>kid</c>). Default 5 minutes, at least 1 second.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often metadata and keys are re-fetched anyway. Default 12 hours, at least 5 minutes.</summary>
    public TimeSpan AutomaticRefreshInterval { get; init; } = TimeSpan.FromHours(12);

    /// <summary>The claim that holds roles (a policy's <c>RequireRoles</c>). Default <c>roles</c>.</summary>
    public string RoleClaim { get; init; } = "roles";
}
