// Loading certificate files as the gateway uses them (a listener's or a client certificate with its key, a CA bundle),
// with one rule for what is acceptable, so the start-up check, a rotation and the upstream trust refuse the same files
// with the same key-path message: missing or unreadable, no certificate in it, a key that does not belong to it, expired.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Foundation;

/// <summary>Where a certificate comes from: its files and the config keys that name them (for messages).</summary>
internal sealed record CertificateFileSource(string PathKey, string Path, string KeyPathKey, string? KeyPath, string? Password)
{
    /// <summary>The source a Kestrel-style <c>Certificate</c> block (<c>Path</c>, <c>KeyPath</c>, <c>Password</c>) names, or null without a Path.</summary>
    public static CertificateFileSource? From(IConfigurationSection certificate) =>
        string.IsNullOrEmpty(certificate["Path"])
            ? null
            : new CertificateFileSource(
                ConfigurationPath.Combine(certificate.Path, "Path"), certificate["Path"]!,
                ConfigurationPath.Combine(certificate.Path, "KeyPath"), certificate["KeyPath"], certificate["Password"]);
}

/// <summary>A certificate with its private key and the rest of the chain found in its file.</summary>
internal sealed record LoadedCertificate(X509Certificate2 Certificate, X509Certificate2Collection Chain);

internal static class CertificateFiles
{
    /// <summary>
    /// Loads a certificate with its private key from <paramref name="source"/> (a PEM pair, a PEM holding both, or a PFX),
    /// or returns null and an error naming the key path. The PEM's further certificates are the chain sent with it.
    /// </summary>
    public static LoadedCertificate? LoadWithKey(CertificateFileSource source, DateTime utcNow, out string? error)
    {
        var (pathKey, path, keyPathKey, keyPath, password) = source;
        if (!File.Exists(path))
        {
            error = ConfigErrors.Invalid(pathKey, path, "does not exist or cannot be read");
            return null;
        }

        if (keyPath is not null && !File.Exists(keyPath))
        {
            error = ConfigErrors.Invalid(keyPathKey, keyPath, "does not exist or cannot be read");
            return null;
        }

        X509Certificate2? loaded = null;
        try
        {
            var pem = IsPem(path);
            var text = pem ? File.ReadAllText(path) : null;
            if (text is not null && !text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            {
                error = ConfigErrors.Invalid(pathKey, path, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
                return null;
            }

            if (text is not null && keyPath is null && !text.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            {
                error = $"{pathKey}: '{path}' holds no private key; set {keyPathKey} to the key's PEM file";
                return null;
            }

            loaded = keyPath is not null
                ? password is null ? X509Certificate2.CreateFromPemFile(path, keyPath) : X509Certificate2.CreateFromEncryptedPemFile(path, password, keyPath)
                : pem ? X509Certificate2.CreateFromPemFile(path) : X509CertificateLoader.LoadPkcs12FromFile(path, password);
            if (!loaded.HasPrivateKey)
            {
                error = $"{pathKey}: '{path}' holds no private key; set {keyPathKey} to the key's PEM file";
            }
            else if (loaded.NotAfter.ToUniversalTime() < utcNow)
            {
                error = ConfigErrors.Invalid(pathKey, path, $"expired on {loaded.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z");
            }
            else
            {
                error = null;
                var chain = pem ? ChainAfterLeaf(path) : [];
                if (!OperatingSystem.IsWindows())
                {
                    return new LoadedCertificate(loaded, chain);
                }

                // A PEM key is ephemeral, which SslStream on Windows cannot use: a PKCS#12 round trip, as Kestrel does.
                using (loaded)
                {
                    return new LoadedCertificate(X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null), chain);
                }
            }
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            // E.g. a key that does not belong to the certificate, or a PFX with a wrong password.
            error = ConfigErrors.Invalid(pathKey, path, $"cannot be loaded{(keyPath is null ? string.Empty : $" with {keyPathKey} '{keyPath}'")}: {ex.Message}");
        }

        loaded?.Dispose();
        return null;
    }

    /// <summary>Loads every certificate of a PEM (or DER) CA bundle; null and an error when there is none or one has expired.</summary>
    public static X509Certificate2Collection? LoadBundle(string pathKey, string path, DateTime utcNow, out string? error)
    {
        if (!File.Exists(path))
        {
            error = ConfigErrors.Invalid(pathKey, path, "does not exist or cannot be read");
            return null;
        }

        try
        {
            var bundle = new X509Certificate2Collection();
            if (IsPem(path))
            {
                bundle.ImportFromPemFile(path);
            }
            else
            {
                bundle.Add(X509CertificateLoader.LoadCertificateFromFile(path));
            }

            if (bundle.Count == 0)
            {
                error = ConfigErrors.Invalid(pathKey, path, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
                return null;
            }

            foreach (var certificate in bundle)
            {
                if (certificate.NotAfter.ToUniversalTime() < utcNow)
                {
                    error = ConfigErrors.Invalid(pathKey, path, $"holds '{certificate.Subject}', expired on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z");
                    return null;
                }
            }

            error = null;
            return bundle;
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            error = ConfigErrors.Invalid(pathKey, path, $"cannot be loaded: {ex.Message}");
            return null;
        }
    }

    /// <summary>The files' bytes, for telling a real change from a poll that found the same content.</summary>
    public static byte[] Fingerprint(params ReadOnlySpan<string?> paths)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var path in paths)
        {
            if (path is null)
            {
                continue;
            }

            try
            {
                hash.AppendData(File.ReadAllBytes(path));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                hash.AppendData("unreadable"u8); // a missing file is a content too: its return is a change
            }

            hash.AppendData([0]);
        }

        return hash.GetHashAndReset();
    }

    private static bool IsPem(string path)
    {
        Span<byte> start = stackalloc byte[64];
        using var file = File.OpenRead(path);
        var read = file.Read(start);
        return start[..read].IndexOf("-----BEGIN"u8) >= 0;
    }

    private static X509Certificate2Collection ChainAfterLeaf(string path)
    {
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(path);
        if (all.Count > 0)
        {
            all.RemoveAt(0);
        }

        return all;
    }
}
