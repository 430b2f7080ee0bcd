// Kestrel reads `Kestrel:Endpoints` only when the server starts, and throws on the first problem (a missing
// certificate file, an https:// URL without a certificate, a bad URL) with a stack trace. This check reads the same
// keys first, with the rest of the config, so every problem is listed with its key path and the gateway exits 2.
using System.Security.Authentication;
using Gateway.Foundation;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Gateway.Configuration;

internal sealed class KestrelEndpointCheck(TimeProvider time) : IGatewayConfigCheck
{
    private const string Section = "Kestrel";

    public void Check(IConfiguration candidate, ICollection<string> errors)
    {
        var kestrel = candidate.GetSection(Section);
        var hasDefaultCertificate = kestrel.GetSection("Certificates:Default").Exists();
        if (hasDefaultCertificate)
        {
            CheckCertificate(kestrel.GetSection("Certificates:Default"), errors);
        }

        foreach (var endpoint in kestrel.GetSection("Endpoints").GetChildren())
        {
            CheckEndpoint(endpoint, hasDefaultCertificate, errors);
        }
    }

    private void CheckEndpoint(IConfigurationSection endpoint, bool hasDefaultCertificate, ICollection<string> errors)
    {
        var urlPath = ConfigurationPath.Combine(endpoint.Path, "Url");
        var url = endpoint["Url"];
        var https = false;
        if (string.IsNullOrWhiteSpace(url))
        {
            errors.Add(ConfigErrors.Required(urlPath, "the address to listen on (e.g. \"http://0.0.0.0:8080\")"));
        }
        else
        {
            try
            {
                var address = BindingAddress.Parse(url);
                https = string.Equals(address.Scheme, "https", StringComparison.OrdinalIgnoreCase);
                if (!https && !string.Equals(address.Scheme, "http", StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add(ConfigErrors.Invalid(urlPath, url, "must start with http:// or https://"));
                }
            }
            catch (FormatException)
            {
                errors.Add(ConfigErrors.Invalid(urlPath, url, "is not a listen address (e.g. \"http://0.0.0.0:8080\")"));
            }
        }

        CheckEnum<HttpProtocols>(endpoint, "Protocols", errors);
        CheckEnum<ClientCertificateMode>(endpoint, "ClientCertificateMode", errors);
        CheckSslProtocols(endpoint, errors);

        var certificate = endpoint.GetSection("Certificate");
        var hasCertificate = certificate.Exists();
        if (hasCertificate)
        {
            CheckCertificate(certificate, errors);
        }

        foreach (var sni in endpoint.GetSection("Sni").GetChildren())
        {
            CheckEnum<HttpProtocols>(sni, "Protocols", errors);
            CheckEnum<ClientCertificateMode>(sni, "ClientCertificateMode", errors);
            CheckSslProtocols(sni, errors);
            if (sni.GetSection("Certificate") is { } sniCertificate && sniCertificate.Exists())
            {
                hasCertificate = true;
                CheckCertificate(sniCertificate, errors);
            }
        }

        if (https && !hasCertificate && !hasDefaultCertificate)
        {
            errors.Add($"{endpoint.Path}: an https:// endpoint needs a certificate ({endpoint.Path}:Certificate:Path and KeyPath, PEM files)");
        }
    }

    private void CheckCertificate(IConfigurationSection certificate, ICollection<string> errors)
    {
        var path = certificate["Path"];
        if (string.IsNullOrEmpty(path))
        {
            if (certificate["Subject"] is null)
            {
                errors.Add(ConfigErrors.Required(ConfigurationPath.Combine(certificate.Path, "Path"), "the certificate file (PEM or PFX)"));
            }

            return; // A store certificate (Subject/Store) is looked up by Kestrel itself.
        }

        // The same loading a rotation uses (Gateway.Tls): key matches, not expired, a certificate in the PEM.
        using var loaded = CertificateFiles.LoadWithKey(CertificateFileSource.From(certificate)!, time.GetUtcNow().UtcDateTime, out var error)?.Certificate;
        if (error is not null)
        {
            errors.Add(error);
        }
    }

    private static void CheckEnum<TEnum>(IConfigurationSection section, string key, ICollection<string> errors)
        where TEnum : struct, Enum
    {
        if (section[key] is { } value && !Enum.TryParse<TEnum>(value, ignoreCase: true, out _))
        {
            errors.Add(ConfigErrors.Invalid(ConfigurationPath.Combine(section.Path, key), value, $"is not one of {string.Join(", ", Enum.GetNames<TEnum>())}"));
        }
    }

    private static void CheckSslProtocols(IConfigurationSection section, ICollection<string> errors)
    {
        var protocols = section.GetSection("SslProtocols");
        if (protocols.Value is not null)
        {
            CheckEnum<SslProtocols>(section, "SslProtocols", errors);
        }

        foreach (var item in protocols.GetChildren())
        {
            if (!Enum.TryParse<SslProtocols>(item.Value, ignoreCase: true, out _))
            {
                errors.Add(ConfigErrors.Invalid(item.Path, item.Value, "is not a TLS protocol (Tls12, Tls13)"));
            }
        }
    }
}
