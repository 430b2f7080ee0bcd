using Gateway.Foundation;

namespace Gateway.Tls;

/// <summary>The Tls block's files must load now: a missing or broken file refuses the config (exit 2 at start) with its key path.</summary>
internal static class UpstreamTlsValidation
{
    public static void Validate(UpstreamTlsOptions options, string path, ICollection<string> errors)
    {
        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        if (options.CaFile is { } caFile)
        {
            if (caFile.Length == 0)
            {
                errors.Add(ConfigErrors.Invalid($"{path}:CaFile", caFile, "is empty (the CA bundle's PEM file)"));
            }
            else
            {
                DisposeAll(CertificateFiles.LoadBundle($"{path}:CaFile", caFile, now, out var error));
                AddIfSet(error, errors);
            }
        }

        if (options.TrustSystemStore == true && options.CaFile is null)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:TrustSystemStore", "true", $"needs {path}:CaFile (without a bundle the system store is the trust)"));
        }

        if (options.ClientCertificate is { } client)
        {
            if (string.IsNullOrEmpty(client.Path))
            {
                errors.Add(ConfigErrors.Required($"{path}:ClientCertificate:Path", "the client certificate's PEM file"));
            }
            else
            {
                var source = new CertificateFileSource($"{path}:ClientCertificate:Path", client.Path, $"{path}:ClientCertificate:KeyPath", client.KeyPath, client.Password);
                CertificateFiles.LoadWithKey(source, now, out var error)?.Certificate.Dispose();
                AddIfSet(error, errors);
            }
        }

        if (options.ServerName is { } name && Uri.CheckHostName(name) == UriHostNameType.Unknown)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:ServerName", name, "is not a host name"));
        }
    }

    private static void DisposeAll(System.Security.Cryptography.X509Certificates.X509Certificate2Collection? bundle)
    {
        foreach (var certificate in bundle ?? [])
        {
            certificate.Dispose();
        }
    }

    private static void AddIfSet(string? error, ICollection<string> errors)
    {
        if (error is not null)
        {
            errors.Add(error);
        }
    }
}
