using Gateway.Foundation;

namespace Gateway.Tls;

/// <summary>
/// TLS to a cluster's https:// destinations, <c>ReverseProxy:Clusters:&lt;id&gt;:Tls</c>: whom to trust, the client
/// certificate to present (mTLS), the name the upstream's certificate must carry. The files are watched: a new CA bundle
/// or client certificate is used for the next connections, existing ones finish as they are. The minimum TLS version is
/// YARP's own <c>HttpClient:SslProtocols</c>.
/// </summary>
internal sealed class UpstreamTlsOptions : IConfigBindable<UpstreamTlsOptions>
{
    public static UpstreamTlsOptions Read(IConfiguration section) => section.Get<UpstreamTlsOptions>() ?? new();

    public const string BlockName = "Tls";

    /// <summary>The per-cluster block (no defaults section: trust is per upstream).</summary>
    public static readonly ExtensionBlock<UpstreamTlsOptions> Block = new(
        ExtensionScope.Cluster, BlockName, defaultsSectionPath: null, static (options, block, errors) => UpstreamTlsValidation.Validate(options, block.Path, errors));

    /// <summary>A PEM bundle of the CA certificates to trust for this cluster's upstreams; instead of the system store unless <see cref="TrustSystemStore"/>.</summary>
    public string? CaFile { get; set; }

    /// <summary>With <see cref="CaFile"/>: trust the system store as well (default false: only the bundle).</summary>
    public bool? TrustSystemStore { get; set; }

    /// <summary>The certificate (and key) presented to upstreams that ask for one.</summary>
    public ClientCertificateFile? ClientCertificate { get; set; }

    /// <summary>The name the upstream's certificate must match, instead of the destination's host (e.g. an IP address or a pod name).</summary>
    public string? ServerName { get; set; }
}

/// <summary>A certificate from PEM files, as Kestrel's <c>Certificate</c> block names them.</summary>
internal sealed class ClientCertificateFile
{
    /// <summary>The certificate's PEM (or PFX) file; further certificates in a PEM are ignored.</summary>
    public string? Path { get; set; }

    /// <summary>The private key's PEM file, unless <see cref="Path"/> holds the key.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The password of an encrypted key or a PFX.</summary>
    public string? Password { get; set; }
}

/// <summary>A cluster's resolved Tls block; record equality decides whether a reload keeps the cluster's pool.</summary>
internal sealed record UpstreamTlsSettings(string ClusterId, string? CaFile, bool TrustSystemStore, CertificateFileSource? ClientCertificate, string? ServerName)
{
    public static UpstreamTlsSettings? From(string clusterId, UpstreamTlsOptions? options)
    {
        if (options is null)
        {
            return null;
        }

        var path = $"ReverseProxy:Clusters:{clusterId}:{UpstreamTlsOptions.BlockName}";
        var client = options.ClientCertificate is { Path: { Length: > 0 } certificate } file
            ? new CertificateFileSource($"{path}:ClientCertificate:Path", certificate, $"{path}:ClientCertificate:KeyPath", file.KeyPath, file.Password)
            : null;
        return new UpstreamTlsSettings(clusterId, options.CaFile, options.TrustSystemStore ?? false, client, options.ServerName);
    }
}
