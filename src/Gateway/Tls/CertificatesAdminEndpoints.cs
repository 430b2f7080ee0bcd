using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Gateway.Foundation;

namespace Gateway.Tls;

/// <summary><c>GET /admin/certificates</c>: every certificate in use, whose, its subject, names, validity and files (never a key).</summary>
internal sealed class CertificatesAdminEndpoints : IAdminEndpoints
{
    public void Map(IEndpointRouteBuilder admin) => admin.MapGet("/certificates", (TlsMetrics inventory, TimeProvider time) =>
    {
        var now = time.GetUtcNow();
        var certificates = new JsonArray();
        foreach (var inUse in inventory.InUse())
        {
            var certificate = inUse.Certificate;
            var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
            certificates.Add((JsonNode?)new JsonObject
            {
                [inUse.Kind] = inUse.Owner,
                ["name"] = inUse.Name,
                ["subject"] = certificate.Subject,
                ["issuer"] = certificate.Issuer,
                ["dnsNames"] = Names(certificate, dns: true),
                ["ipAddresses"] = Names(certificate, dns: false),
                ["notBefore"] = new DateTimeOffset(certificate.NotBefore.ToUniversalTime()),
                ["notAfter"] = notAfter,
                ["expiresInDays"] = Math.Round((notAfter - now).TotalDays, 2),
                ["thumbprint"] = certificate.Thumbprint,
                ["path"] = inUse.Path,
                ["keyPath"] = inUse.KeyPath,
            });
        }

        return AdminJson.Result(new JsonObject { ["certificates"] = certificates });
    });

    private static JsonArray Names(X509Certificate2 certificate, bool dns)
    {
        var names = new JsonArray();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                if (dns)
                {
                    foreach (var name in san.EnumerateDnsNames())
                    {
                        names.Add((JsonNode?)name);
                    }
                }
                else
                {
                    foreach (var address in san.EnumerateIPAddresses())
                    {
                        names.Add((JsonNode?)address.ToString());
                    }
                }
            }
        }

        return names;
    }
}
