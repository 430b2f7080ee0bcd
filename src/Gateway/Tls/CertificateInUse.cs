using System.Security.Cryptography.X509Certificates;

namespace Gateway.Tls;

/// <summary>One certificate the gateway uses now: whose (a listener or a cluster), which (its name), from which files.</summary>
internal sealed record CertificateInUse(string Kind, string Owner, string Name, X509Certificate2 Certificate, string Path, string? KeyPath)
{
    public const string Listener = "listener";
    public const string Cluster = "cluster";
}
