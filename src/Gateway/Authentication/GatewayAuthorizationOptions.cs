using Gateway.Foundation;

namespace Gateway.Authentication;

/// <summary>Authorization policies, bound from <c>Gateway:Authorization</c>; routes name one with YARP's <c>AuthorizationPolicy</c>.</summary>
internal sealed class GatewayAuthorizationOptions : IConfigBindable<GatewayAuthorizationOptions>
{
    public static GatewayAuthorizationOptions Read(IConfiguration section) => section.Get<GatewayAuthorizationOptions>() ?? new();

    public const string SectionPath = "Gateway:Authorization";

    /// <summary>
    /// Policies by name (case-sensitive). <c>Default</c> is what a route's <c>"AuthorizationPolicy": "Default"</c> uses
    /// (when it is not defined: an authenticated user of any scheme); <c>Anonymous</c> is reserved by YARP.
    /// </summary>
    public Dictionary<string, AuthorizationPolicyOptions> Policies { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One policy, <c>Gateway:Authorization:Policies:&lt;name&gt;</c>: every requirement must hold.</summary>
internal sealed class AuthorizationPolicyOptions : IConfigBindable<AuthorizationPolicyOptions>
{
    public static AuthorizationPolicyOptions Read(IConfiguration section) => section.Get<AuthorizationPolicyOptions>() ?? new();

    /// <summary>Schemes whose tokens are accepted. Default: every scheme under <c>Gateway:Authentication:Schemes</c>.</summary>
    public List<string> Schemes { get; set; } = [];

    /// <summary>A valid token is required. Default true.</summary>
    public bool RequireAuthenticatedUser { get; set; } = true;

    /// <summary>Claim type to accepted values: the token must carry one of the values for each type. <c>scope</c> and <c>scp</c> are split on spaces.</summary>
    public Dictionary<string, List<string>> RequireClaims { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Any one of these roles (the scheme's <c>RoleClaim</c>).</summary>
    public List<string> RequireRoles { get; set; } = [];
}
