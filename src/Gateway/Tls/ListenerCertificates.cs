// One HTTPS listener's certificates: the default one and Kestrel's Sni entries, each from watched files. The handshake
// callback picks by the client's server name (exact, then the longest "*.suffix", then "*", then the default), as
// Kestrel's own Sni selection does, reading whatever the watchers last applied: new handshakes get a rotated
// certificate, connections already open keep theirs.
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Gateway.Tls;

internal sealed class ListenerCertificates(string endpoint, CertificateFileSet<ListenerCertificate>? fallback, IReadOnlyList<CertificateFileSet<ListenerCertificate>> sni)
    : IDisposable
{
    private readonly Dictionary<string, CertificateFileSet<ListenerCertificate>> _exact = Exact(sni);
    private readonly CertificateFileSet<ListenerCertificate>[] _wildcards = Wildcards(sni);
    private readonly CertificateFileSet<ListenerCertificate>? _default =
        sni.FirstOrDefault(s => s.Name == "*") ?? fallback;

    public string Endpoint { get; } = endpoint;

    public IEnumerable<CertificateFileSet<ListenerCertificate>> All => fallback is null ? sni : sni.Prepend(fallback);

    /// <summary>Kestrel's per-connection callback (<see cref="TlsHandshakeCallbackOptions.OnConnection"/>); the state is the listener's set.</summary>
    public static ValueTask<SslServerAuthenticationOptions> Select(TlsHandshakeCallbackContext context) =>
        ValueTask.FromResult(((ListenerCertificates)context.State!).OptionsFor(context.ClientHelloInfo.ServerName));

    public SslServerAuthenticationOptions OptionsFor(string? serverName)
    {
        if (!string.IsNullOrEmpty(serverName))
        {
            if (_exact.TryGetValue(serverName, out var exact))
            {
                return exact.Current.Options;
            }

            foreach (var wildcard in _wildcards)
            {
                // Longest suffix first; "*.example.com" matches "a.example.com" and "a.b.example.com", as Kestrel's does.
                if (serverName.EndsWith(wildcard.Name.AsSpan(1), StringComparison.OrdinalIgnoreCase))
                {
                    return wildcard.Current.Options;
                }
            }
        }

        return _default?.Current.Options
            ?? throw new AuthenticationException($"Listener '{Endpoint}' has no certificate for '{serverName}' and no default certificate");
    }

    public void Dispose()
    {
        foreach (var set in All)
        {
            set.Dispose();
        }
    }

    private static Dictionary<string, CertificateFileSet<ListenerCertificate>> Exact(IReadOnlyList<CertificateFileSet<ListenerCertificate>> sni)
    {
        var exact = new Dictionary<string, CertificateFileSet<ListenerCertificate>>(StringComparer.OrdinalIgnoreCase);
        foreach (var set in sni)
        {
            if (!set.Name.StartsWith('*'))
            {
                exact[set.Name] = set;
            }
        }

        return exact;
    }

    private static CertificateFileSet<ListenerCertificate>[] Wildcards(IReadOnlyList<CertificateFileSet<ListenerCertificate>> sni) =>
        [.. sni.Where(s => s.Name.StartsWith("*.", StringComparison.Ordinal)).OrderByDescending(s => s.Name.Length)];
}
