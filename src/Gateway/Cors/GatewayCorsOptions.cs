using Gateway.Foundation;

namespace Gateway.Cors;

/// <summary>CORS policies, bound from <c>Gateway:Cors</c>; routes name one with YARP's <c>CorsPolicy</c>.</summary>
internal sealed class GatewayCorsOptions : IConfigBindable<GatewayCorsOptions>
{
    public static GatewayCorsOptions Read(IConfiguration section) => section.Get<GatewayCorsOptions>() ?? new();

    public const string SectionPath = "Gateway:Cors";

    /// <summary>
    /// Policies by name (case-sensitive). <c>Default</c> is what a route's <c>"CorsPolicy": "Default"</c> uses;
    /// <c>Disable</c> is reserved by YARP. Changes apply on reload.
    /// </summary>
    public Dictionary<string, CorsPolicyOptions> Policies { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One policy, <c>Gateway:Cors:Policies:&lt;name&gt;</c>.</summary>
internal sealed class CorsPolicyOptions : IConfigBindable<CorsPolicyOptions>
{
    public static CorsPolicyOptions Read(IConfiguration section) => section.Get<CorsPolicyOptions>() ?? new();

    /// <summary>Origins allowed to read responses (<c>https://app.example.com</c>, <c>https://*.example.com</c>, or <c>*</c>). Required.</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>Methods a preflight may ask for (<c>*</c> for any). Default: GET, HEAD, POST.</summary>
    public List<string> AllowedMethods { get; set; } = [];

    /// <summary>Request headers a preflight may ask for (<c>*</c> for any). Default: none beyond the CORS-safelisted ones.</summary>
    public List<string> AllowedHeaders { get; set; } = [];

    /// <summary>Response headers the page may read beyond the CORS-safelisted ones.</summary>
    public List<string> ExposedHeaders { get; set; } = [];

    /// <summary>Allow cookies and HTTP authentication (<c>credentials: "include"</c>); never with origin <c>*</c>. Default false.</summary>
    public bool AllowCredentials { get; set; }

    /// <summary>How long a browser may cache a preflight answer (<c>Access-Control-Max-Age</c>). Default: not sent (the browser's own, 5 s in Chromium).</summary>
    public TimeSpan? MaxAge { get; set; }
}
