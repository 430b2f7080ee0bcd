using Gateway.Foundation;

namespace Gateway.Authentication;

/// <summary>
/// A route's <c>Authentication</c> block (<c>ReverseProxy:Routes:&lt;id&gt;:Authentication</c>): what the upstream
/// receives of the caller's identity. Applied through a YARP request transform.
/// </summary>
internal sealed class RouteAuthenticationOptions : IConfigBindable<RouteAuthenticationOptions>
{
    public static RouteAuthenticationOptions Read(IConfiguration section) => section.Get<RouteAuthenticationOptions>() ?? new();

    public const string BlockName = "Authentication";

    public static readonly ExtensionBlock<RouteAuthenticationOptions> Block = new(ExtensionScope.Route, BlockName, defaultsSectionPath: null, AuthenticationValidation.ValidateRouteBlock);

    /// <summary>
    /// Forward the client's <c>Authorization</c> header upstream. Default true (as YARP does, so an upstream that
    /// checks the token itself keeps working); false strips it.
    /// </summary>
    public bool ForwardAuthorizationHeader { get; set; } = true;

    /// <summary>
    /// Request header to claim type, e.g. <c>{ "X-User-Id": "sub" }</c>: the header is always removed from the client's
    /// request, then set from the validated token's claim (several claims of the type joined with a comma).
    /// </summary>
    public Dictionary<string, string> ClaimHeaders { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
