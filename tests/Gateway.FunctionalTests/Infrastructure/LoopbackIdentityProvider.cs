using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// An OpenID Connect identity provider on 127.0.0.1 for the gateway to discover: <c>/.well-known/openid-configuration</c>
/// and a JWKS with the RSA keys the test creates; it signs tokens with them. Keys can be rotated and the listener stopped.
/// </summary>
public sealed class LoopbackIdentityProvider : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly List<RsaSecurityKey> _published = [];
    private WebApplication? _app;
    private int _jwksRequests;

    private LoopbackIdentityProvider()
    {
    }

    public int Port { get; private set; }

    /// <summary>The issuer and authority, e.g. <c>http://127.0.0.1:PORT</c>.</summary>
    public string Issuer => $"http://127.0.0.1:{Port}";

    /// <summary>The key new tokens are signed with (published in the JWKS).</summary>
    public RsaSecurityKey SigningKey { get; private set; } = null!;

    public int JwksRequests => Volatile.Read(ref _jwksRequests);

    public static async Task<LoopbackIdentityProvider> StartAsync()
    {
        var idp = new LoopbackIdentityProvider();
        idp.SigningKey = NewKey("key-1");
        idp._published.Add(idp.SigningKey);
        await idp.ListenAsync(0);
        return idp;
    }

    /// <summary>Listens again on the same port, with the same keys (after <see cref="StopAsync"/>).</summary>
    public Task RestartAsync() => ListenAsync(Port);

    private async Task ListenAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, port));
        var app = builder.Build();
        app.MapGet("/.well-known/openid-configuration", () => Results.Text(
            new JsonObject { ["issuer"] = Issuer, ["jwks_uri"] = Issuer + "/jwks", ["id_token_signing_alg_values_supported"] = new JsonArray("RS256") }.ToJsonString(),
            "application/json"));
        app.MapGet("/jwks", () =>
        {
            Interlocked.Increment(ref _jwksRequests);
            var keys = new JsonArray();
            lock (_lock)
            {
                foreach (var key in _published)
                {
                    var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(key);
                    keys.Add(new JsonObject { ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = jwk.Kid, ["n"] = jwk.N, ["e"] = jwk.E });
                }
            }

            return Results.Text(new JsonObject { ["keys"] = keys }.ToJsonString(), "application/json");
        });
        await app.StartAsync();
        _app = app;
        Port = new Uri(app.Urls.First()).Port;
    }

    public static RsaSecurityKey NewKey(string kid) => new(RSA.Create(2048)) { KeyId = kid };

    /// <summary>Publishes a new key beside the old ones (as a provider does during a rotation) and signs new tokens with it.</summary>
    public RsaSecurityKey Rotate(string kid)
    {
        var key = NewKey(kid);
        lock (_lock)
        {
            _published.Add(key);
            SigningKey = key;
        }

        return key;
    }

    /// <summary>Stops listening: discovery and JWKS requests are refused from now on.</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>A signed token with <paramref name="claims"/>; defaults: this issuer, valid from a minute ago for ten minutes.</summary>
    public string Token(
        string audience,
        IDictionary<string, object> claims,
        string? issuer = null,
        DateTime? expires = null,
        SecurityKey? signingKey = null)
    {
        var now = DateTime.UtcNow;
        var expiry = expires ?? now.AddMinutes(10);
        var notBefore = expiry < now ? expiry.AddMinutes(-10) : now.AddMinutes(-1);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = notBefore,
            NotBefore = notBefore,
            Expires = expiry,
            SigningCredentials = new SigningCredentials(signingKey ?? SigningKey, SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>An unsigned token (<c>alg: none</c>) with otherwise valid claims.</summary>
    public string UnsignedToken(string audience, IDictionary<string, object> claims)
    {
        var now = DateTimeOffset.UtcNow;
        var payload = new JsonObject { ["iss"] = Issuer, ["aud"] = audience, ["nbf"] = now.AddMinutes(-1).ToUnixTimeSeconds(), ["exp"] = now.AddMinutes(10).ToUnixTimeSeconds() };
        foreach (var (name, value) in claims)
        {
            payload[name] = JsonValue.Create(value.ToString());
        }

        return Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes("{\"alg\":\"none\",\"typ\":\"JWT\"}")) + "."
            + Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(payload.ToJsonString())) + ".";
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
