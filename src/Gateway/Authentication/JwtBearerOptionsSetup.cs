// Fills ASP.NET Core's named JwtBearerOptions from Gateway:Authentication:Schemes:<name>, read when the handler first
// asks for a scheme's options (JwtSchemes drops the cached options of a changed scheme, so they are read again).
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Gateway.Authentication;

internal sealed class JwtBearerOptionsSetup(IOptionsMonitor<GatewayAuthenticationOptions> gateway) : IConfigureNamedOptions<JwtBearerOptions>
{
    // RFC 6750: say the token was refused, not why (the why names the expected issuer, audience or key).
    private static readonly JwtBearerEvents Events = new()
    {
        OnChallenge = static context =>
        {
            if (context.AuthenticateFailure is not null)
            {
                context.Error = "invalid_token";
            }

            return Task.CompletedTask;
        },
    };

    public void Configure(string? name, JwtBearerOptions options)
    {
        if (name is null || !gateway.CurrentValue.Schemes.TryGetValue(name, out var scheme))
        {
            return;
        }

        options.RequireHttpsMetadata = scheme.RequireHttpsMetadata;
        options.MapInboundClaims = false; // claims keep their JWT names (sub, scope), which policies and ClaimHeaders use
        options.IncludeErrorDetails = false;
        options.Events = Events;
        options.RefreshInterval = scheme.RefreshInterval;
        options.AutomaticRefreshInterval = scheme.AutomaticRefreshInterval;
        options.BackchannelTimeout = TimeSpan.FromSeconds(10);
        for (var i = 0; i < options.TokenHandlers.Count; i++)
        {
            // After MapInboundClaims, which JwtBearer passes on to its handlers.
            options.TokenHandlers[i] = new ValidatedTokenCache(options.TokenHandlers[i], TimeProvider.System);
        }

        var parameters = options.TokenValidationParameters;
        parameters.ValidAudiences = [.. scheme.Audiences];
        parameters.ClockSkew = scheme.ClockSkew;
        parameters.NameClaimType = "sub";
        parameters.RoleClaimType = scheme.RoleClaim;
        if (scheme.Issuer is { Length: > 0 } issuer)
        {
            parameters.ValidIssuer = issuer;
        }

        if (scheme.JwksUri is { Length: > 0 } jwksUri)
        {
            // Gap in JwtBearer: keys come only through OpenID Connect discovery. A JWKS document alone goes through the
            // same ConfigurationManager, so refresh on an unknown key and keeping the last keys when the fetch fails
            // work the same way.
            var backchannel = new HttpClient { Timeout = options.BackchannelTimeout, MaxResponseContentBufferSize = 1024 * 1024 };
            options.ConfigurationManager = new ConfigurationManager<OpenIdConnectConfiguration>(
                jwksUri,
                new JwksRetriever(scheme.Issuer),
                new HttpDocumentRetriever(backchannel) { RequireHttps = scheme.RequireHttpsMetadata })
            {
                RefreshInterval = scheme.RefreshInterval,
                AutomaticRefreshInterval = scheme.AutomaticRefreshInterval,
            };
        }
        else
        {
            options.Authority = scheme.Authority;
            options.MetadataAddress = scheme.MetadataAddress ?? string.Empty;
        }
    }

    public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);
}
