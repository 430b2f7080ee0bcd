// A cluster's TLS material from watched files (its CA bundle, its client certificate) and the checks a new upstream
// connection makes with it. A rotated file bumps FilesVersion, which rebuilds the cluster's pool (UpstreamTls); the
// pool's callbacks also read the last good material on every handshake, so no new connection uses the old one.
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Gateway.Foundation;

namespace Gateway.Tls;

internal sealed class UpstreamTrust : IDisposable
{
    private readonly TlsMetrics _metrics;
    private readonly TimeProvider _time;

    private long _filesVersion;

    public UpstreamTrust(UpstreamTlsSettings settings, TimeSpan poll, TlsMetrics metrics, TimeProvider time, ILogger logger, Func<long> stamp, Action filesChanged)
    {
        Settings = settings;
        _metrics = metrics;
        _time = time;
        var owner = $"Cluster '{settings.ClusterId}'";
        if (settings.CaFile is { } caFile)
        {
            var pathKey = $"ReverseProxy:Clusters:{settings.ClusterId}:{UpstreamTlsOptions.BlockName}:CaFile";
            Bundle = new CertificateFileSet<X509Certificate2Collection>(
                owner, "ca", [caFile], now => (CertificateFiles.LoadBundle(pathKey, caFile, now, out var error), error),
                static b => (string.Join("; ", b.Select(c => c.Subject)), b.Min(c => c.NotAfter.ToUniversalTime())), poll, metrics, time, logger);
        }

        if (settings.ClientCertificate is { } client)
        {
            Client = new CertificateFileSet<LoadedCertificate>(
                owner, "client", [client.Path, client.KeyPath], now => (CertificateFiles.LoadWithKey(client, now, out var error), error),
                static c => (c.Certificate.Subject, c.Certificate.NotAfter.ToUniversalTime()), poll, metrics, time, logger);
        }

        void OnApplied()
        {
            Interlocked.Exchange(ref _filesVersion, stamp());
            filesChanged();
        }

        if (Bundle is not null)
        {
            Bundle.Applied += OnApplied;
        }

        if (Client is not null)
        {
            Client.Applied += OnApplied;
        }
    }

    /// <summary>0 until a file changes, then a stamp unique across clusters (so a replaced trust never repeats a value).</summary>
    public long FilesVersion => Interlocked.Read(ref _filesVersion);

    public UpstreamTlsSettings Settings { get; }

    public CertificateFileSet<X509Certificate2Collection>? Bundle { get; }

    public CertificateFileSet<LoadedCertificate>? Client { get; }

    /// <summary>Sets the pool's TLS options: our trust check, the client certificate, as YARP's HttpClient block left the rest.</summary>
    public void Apply(SocketsHttpHandler handler)
    {
        var ssl = handler.SslOptions;
        if (Bundle is not null || Settings.ServerName is not null)
        {
#pragma warning disable CA5359 // Validate returns true only for a certificate that passed; it throws otherwise.
            ssl.RemoteCertificateValidationCallback = Validate;
#pragma warning restore CA5359
        }

        if (Client is not null)
        {
            // SocketsHttpHandler drops a selection callback when ClientCertificates is empty; the callback picks the
            // current certificate, the collection only keeps it in place.
            ssl.ClientCertificates = [Client.Current.Certificate];
            ssl.LocalCertificateSelectionCallback = (_, _, _, _, _) => Client.Current.Certificate;
        }
    }

    /// <summary>
    /// Throws (rather than returning false) so the request's one failure line says why: SocketsHttpHandler wraps our
    /// exception as the cause of its "SSL connection could not be established".
    /// </summary>
    private bool Validate(object sender, X509Certificate? presented, X509Chain? platformChain, SslPolicyErrors errors)
    {
        var reason = Check(presented, platformChain, errors);
        if (reason is null)
        {
            return true;
        }

        _metrics.UpstreamHandshakeFailed(Settings.ClusterId, reason);
        var subject = presented?.Subject ?? "none";
        throw new AuthenticationException($"upstream certificate rejected: {reason} (subject '{subject}'{(Settings.ServerName is null ? string.Empty : $", expected name '{Settings.ServerName}'")})");
    }

    private string? Check(X509Certificate? presented, X509Chain? platformChain, SslPolicyErrors errors)
    {
        if (presented is not X509Certificate2 certificate)
        {
            return "NoCertificate";
        }

        if (Settings.ServerName is { } name ? !certificate.MatchesHostname(name) : (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return "NameMismatch";
        }

        if (Bundle is null)
        {
            // System trust, as the platform judged it.
            return (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0 ? null : ChainReason(platformChain);
        }

        if (Settings.TrustSystemStore && (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0)
        {
            return null;
        }

        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(Bundle.Current);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        if (platformChain is not null)
        {
            // The intermediates the upstream sent with its certificate.
            foreach (var element in platformChain.ChainElements)
            {
                policy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(certificate) ? null : ChainReason(chain);
    }

    private static string ChainReason(X509Chain? chain)
    {
        var flags = X509ChainStatusFlags.NoError;
        foreach (var status in chain?.ChainStatus ?? [])
        {
            flags |= status.Status;
        }

        return flags switch
        {
            _ when (flags & X509ChainStatusFlags.NotTimeValid) != 0 => "Expired",
            _ when (flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0 => "UntrustedRoot",
            _ when (flags & X509ChainStatusFlags.NotSignatureValid) != 0 => "BadSignature",
            X509ChainStatusFlags.NoError => "UntrustedRoot",
            _ => "InvalidChain",
        };
    }

    public void Dispose()
    {
        Bundle?.Dispose();
        Client?.Dispose();
    }
}
