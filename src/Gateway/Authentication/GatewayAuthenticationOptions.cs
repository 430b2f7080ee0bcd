using Gateway.Foundation;

namespace Gateway.Authentication;

/// <summary>Authentication schemes, bound from <c>Gateway:Authentication</c>; authorization policies name them.</summary>
internal sealed class GatewayAuthenticationOptions : IConfigBindable<GatewayAuthenticationOptions>
{
    public static GatewayAuthenticationOptions Read(IConfiguration section) => section.Get<GatewayAuthenticationOptions>() ?? new();

    public const string SectionPath = "Gateway:Authentication";

    /// <summary>Schemes by name (names are case-sensitive). Added, changed and removed schemes apply on reload.</summary>
    public Dictionary<string, JwtSchemeOptions> Schemes { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One scheme, <c>Gateway:Authentication:Schemes:&lt;name&gt;</c>, validated by ASP.NET Core's JwtBearer handler.</summary>
internal sealed class JwtSchemeOptions : IConfigBindable<JwtSchemeOptions>
{
    public static JwtSchemeOptions Read(IConfiguration section) => section.Get<JwtSchemeOptions>() ?? new();

    /// <summary><c>JwtBearer</c>, the only type (and the default).</summary>
    public string Type { get; set; } = "JwtBearer";

    /// <summary>The issuer's base URL; its discovery document is <c>{Authority}/.well-known/openid-configuration</c>.</summary>
    public string? Authority { get; set; }

    /// <summary>The discovery document's URL, when it is not under <see cref="Authority"/>.</summary>
    public string? MetadataAddress { get; set; }

    /// <summary>A JWKS URL to take the signing keys from, without discovery (then <see cref="Issuer"/> is required).</summary>
    public string? JwksUri { get; set; }

    /// <summary>The accepted <c>iss</c>. Default: the discovery document's <c>issuer</c>.</summary>
    public string? Issuer { get; set; }

    /// <summary>Accepted <c>aud</c> values; a token must carry one. Required.</summary>
    public List<string> Audiences { get; set; } = [];

    /// <summary>Metadata and keys only over HTTPS. Default true; false only for a loopback identity provider in tests.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Tolerance for <c>exp</c> and <c>nbf</c>. Default 1 minute.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Least time between two refreshes forced by a token signed with an unknown key (<c>kid</c>). Default 5 minutes, at least 1 second.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often metadata and keys are re-fetched anyway. Default 12 hours, at least 5 minutes.</summary>
    public TimeSpan AutomaticRefreshInterval { get; set; } = TimeSpan.FromHours(12);

    /// <summary>The claim that holds roles (a policy's <c>RequireRoles</c>). Default <c>roles</c>.</summary>
    public string RoleClaim { get; set; } = "roles";
}
