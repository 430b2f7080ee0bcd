using System.Security.Claims;
using System.Security.Cryptography;
using Gateway.Authentication;
using Gateway.Foundation;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Gateway.Tests.Authentication;

/// <summary>Which requests the cached path lets through, and that everything else goes to ASP.NET Core's middleware.</summary>
public sealed class CachedAuthorizationStepTests
{
    private static readonly RsaSecurityKey Key = new(RSA.Create(2048)) { KeyId = "k1" };

    [Fact]
    public async Task AToken_ThePolicyAllowed_GoesOnAsTheRememberedUser_AnythingElseTakesAspNetCoresPath()
    {
        var f = await Fixture.CreateAsync();

        Assert.Equal("next", await f.RunAsync(f.Endpoint, "Bearer " + f.Token));
        Assert.Equal("user-1", f.LastContext!.User.FindFirst("sub")?.Value);
        Assert.True(f.LastContext.Items.ContainsKey("__AuthorizationMiddlewareWithEndpointInvoked"));
        Assert.Equal("next", await f.RunAsync(f.Endpoint, "bearer   " + f.Token + "  ")); // as JwtBearer reads it

        Assert.Equal("aspnetcore", await f.RunAsync(f.Endpoint));
        Assert.Equal("aspnetcore", await f.RunAsync(f.Endpoint, "Bearer " + f.Token + "x"));
        Assert.Equal("aspnetcore", await f.RunAsync(f.Endpoint, "Basic " + f.Token));
        Assert.Equal("aspnetcore", await f.RunAsync(f.Endpoint, "Bearer " + f.Token, "Bearer " + f.Token)); // two headers

        // Endpoints whose authorization ASP.NET Core would combine from more than the named policy.
        Assert.Equal("aspnetcore", await f.RunAsync(f.EndpointWith(new AuthorizeAttribute("p") { Roles = "admin" }), "Bearer " + f.Token));
        Assert.Equal("aspnetcore", await f.RunAsync(f.EndpointWith(new AuthorizeAttribute("p"), new AllowAnonymousAttribute()), "Bearer " + f.Token));
        Assert.Equal("aspnetcore", await f.RunAsync(f.EndpointWith(new AuthorizeAttribute("p"), new AuthorizeAttribute("q")), "Bearer " + f.Token));

        // A route without authorization never enters it.
        Assert.Equal("next", await f.RunAsync(new Endpoint(null, new EndpointMetadataCollection(), "open")));
    }

    [Fact]
    public async Task AReloadedPolicy_AChangedScheme_OrTheTokensTimeRunningOut_TakeAspNetCoresPathAgain()
    {
        var f = await Fixture.CreateAsync();
        Assert.Equal("next", await f.RunAsync(f.Endpoint, "Bearer " + f.Token));

        f.Policy = new AuthorizationPolicyBuilder("idp").RequireAuthenticatedUser().Build(); // the same rules, rebuilt
        Assert.Equal("aspnetcore", await f.RunAsync(f.Endpoint, "Bearer " + f.Token));
        await f.RememberAsync();
        Assert.Equal("next", await f.RunAsync(f.Endpoint, "Bearer " + f.Token));

        var options = f.Options;
        f.Options = Fixture.NewOptions(f.Time); // the scheme changed: new options, an empty cache
        Assert.Equal("aspnetcore", await f.RunAsync(f.Endpoint, "Bearer " + f.Token));
        f.Options = options;

        f.Time.Advance(ValidatedTokenCache.MaxAge);
        Assert.Equal("aspnetcore", await f.RunAsync(f.Endpoint, "Bearer " + f.Token));
    }

    private sealed class Fixture : IOptionsMonitor<JwtBearerOptions>, IAuthorizationPolicyProvider
    {
        private CachedAuthorizationStep _step = null!;

        public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

        public string Token { get; } = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://idp.test",
            Audience = "orders",
            Subject = new ClaimsIdentity([new Claim("sub", "user-1")]),
            Expires = DateTime.UtcNow.AddHours(1),
            SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.RsaSha256),
        });

        public JwtBearerOptions Options { get; set; } = null!;

        public AuthorizationPolicy Policy { get; set; } = new AuthorizationPolicyBuilder("idp").RequireAuthenticatedUser().Build();

        public Endpoint Endpoint { get; private set; } = null!;

        public HttpContext? LastContext { get; private set; }

        public static async Task<Fixture> CreateAsync()
        {
            var f = new Fixture();
            f.Options = NewOptions(f.Time);
            var services = new ServiceCollection().AddMetrics().AddSingleton<KnownSeries>().AddSingleton<AuthMetrics>().BuildServiceProvider();
            f._step = new CachedAuthorizationStep(
                static context => { context.Response.Headers["X-Path"] = "next"; return Task.CompletedTask; },
                static context => { context.Response.Headers["X-Path"] = "aspnetcore"; return Task.CompletedTask; },
                f,
                f,
                services.GetRequiredService<AuthMetrics>());
            f.Endpoint = f.EndpointWith(new AuthorizeAttribute("p"));
            await f.RememberAsync();
            return f;
        }

        public static JwtBearerOptions NewOptions(TimeProvider time)
        {
            var options = new JwtBearerOptions { MapInboundClaims = false }; // as JwtBearerOptionsSetup: claims keep their JWT names
            options.TokenHandlers[0] = new ValidatedTokenCache(options.TokenHandlers[0], time);
            return options;
        }

        public Endpoint EndpointWith(params object[] metadata)
        {
            var route = new RouteModel(new RouteConfig { RouteId = "orders", ClusterId = "c" }, cluster: null, HttpTransformer.Default);
            object[] all = [route, .. metadata];
            return new Endpoint(null, new EndpointMetadataCollection(all), "orders");
        }

        /// <summary>What a first request does: the handler validates the token, the policy allows it.</summary>
        public async Task RememberAsync()
        {
            var cache = (ValidatedTokenCache)Options.TokenHandlers[0];
            var result = await cache.ValidateTokenAsync(Token, new TokenValidationParameters { ValidIssuer = "https://idp.test", ValidAudience = "orders", IssuerSigningKey = Key });
            Assert.True(result.IsValid);
            var context = new DefaultHttpContext { User = new ClaimsPrincipal(result.ClaimsIdentity) };
            context.Request.Headers.Authorization = "Bearer " + Token;
            context.SetEndpoint(Endpoint);
            await _step.InvokeAsync(context); // registers the endpoint (ASP.NET Core's path, as nothing is remembered yet)
            CachedAuthorizationStep.RememberAllowed(context, Policy, this, this);
        }

        /// <summary>One request with these Authorization header values (none: no header); which path it took.</summary>
        public async Task<string> RunAsync(Endpoint endpoint, params string[] authorization)
        {
            var context = new DefaultHttpContext();
            if (authorization.Length > 0)
            {
                context.Request.Headers.Authorization = authorization;
            }

            context.SetEndpoint(endpoint);
            await _step.InvokeAsync(context);
            LastContext = context;
            return context.Response.Headers["X-Path"].ToString();
        }

        public JwtBearerOptions CurrentValue => Options;

        public JwtBearerOptions Get(string? name) => Options;

        public IDisposable? OnChange(Action<JwtBearerOptions, string?> listener) => null;

        public Task<AuthorizationPolicy> GetDefaultPolicyAsync() => Task.FromResult(Policy);

        public Task<AuthorizationPolicy?> GetFallbackPolicyAsync() => Task.FromResult<AuthorizationPolicy?>(null);

        public Task<AuthorizationPolicy?> GetPolicyAsync(string policyName) => Task.FromResult<AuthorizationPolicy?>(policyName == "p" ? Policy : null);

        public bool AllowsCachingPolicies => false;
    }
}
