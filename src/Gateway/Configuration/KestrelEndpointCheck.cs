// Kestrel reads `Kestrel:Endpoints` only when the server starts, and throws on the first problem (a missing
// certificate file, an https:// URL without a certificate, a bad URL) with a stack trace. This check reads the same
// keys first, with the rest of the config, so every problem is listed with its key path and the gateway exits 2.
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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

        var keyPath = certificate["KeyPath"];
        var password = certificate["Password"];
        var pathKey = ConfigurationPath.Combine(certificate.Path, "Path");
        var keyPathKey = ConfigurationPath.Combine(certificate.Path, "KeyPath");
        if (!File.Exists(path))
        {
            errors.Add(ConfigErrors.Invalid(pathKey, path, "does not exist or cannot be read"));
            return;
        }

        if (keyPath is not null && !File.Exists(keyPath))
        {
            errors.Add(ConfigErrors.Invalid(keyPathKey, keyPath, "does not exist or cannot be read"));
            return;
        }

        try
        {
            using var loaded = keyPath is not null
                ? password is null ? X509Certificate2.CreateFromPemFile(path, keyPath) : X509Certificate2.CreateFromEncryptedPemFile(path, password, keyPath)
                : IsPem(path) ? X509CertificateLoader.LoadCertificateFromFile(path) : X509CertificateLoader.LoadPkcs12FromFile(path, password);
            if (keyPath is null && !loaded.HasPrivateKey)
            {
                errors.Add($"{pathKey}: '{path}' holds no private key; set {keyPathKey} to the key's PEM file");
            }
            else if (loaded.NotAfter.ToUniversalTime() < time.GetUtcNow().UtcDateTime)
            {
                errors.Add(ConfigErrors.Invalid(pathKey, path, $"expired on {loaded.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z"));
            }
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            // E.g. a PEM with no certificate in it, or a key that does not belong to the certificate.
            errors.Add(ConfigErrors.Invalid(pathKey, path, $"cannot be loaded{(keyPath is null ? string.Empty : $" with {keyPathKey} '{keyPath}'")}: {ex.Message}"));
        }
    }

    private static bool IsPem(string path)
    {
        Span<byte> start = stackalloc byte[64];
        using var file = File.OpenRead(path);
        var read = file.Read(start);
        return start[..read].IndexOf("-----BEGIN"u8) >= 0;
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
