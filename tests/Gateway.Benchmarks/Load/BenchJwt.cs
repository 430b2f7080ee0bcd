// A signing key for the edge-policies target: the JWKS the upstream nginx serves to the gateway, and one RS256 token
// that the load client sends (valid for a day; the gateway validates its signature, issuer, audience and lifetime).
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Gateway.Benchmarks.Load;

internal static class BenchJwt
{
    public const string Issuer = "https://issuer.bench.test";
    public const string Audience = "bench";
    public const string JwksPath = "/bench-jwks.json";
    private const string KeyId = "bench-1";

    private static readonly RSA Key = RSA.Create(2048);
    private static readonly Lazy<string> CachedToken = new(CreateToken);

    public static string Token => CachedToken.Value;

    /// <summary>The public key as a JWKS; the upstream nginx answers it at <see cref="JwksPath"/> (inline: its workers may not read our temp dir).</summary>
    public static string Jwks
    {
        get
        {
            var parameters = Key.ExportParameters(includePrivateParameters: false);
            var jwks = new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = KeyId, n = Base64Url(parameters.Modulus!), e = Base64Url(parameters.Exponent!) } } };
            return JsonSerializer.Serialize(jwks);
        }
    }

    private static string CreateToken()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "RS256", typ = "JWT", kid = KeyId }));
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { iss = Issuer, aud = Audience, sub = "bench-user", scope = "bench", iat = now, nbf = now - 60, exp = now + 86400 }));
        var signature = Key.SignData(Encoding.ASCII.GetBytes(header + "." + payload), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return header + "." + payload + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
