using System.Net.Security;
using Gateway.Foundation;

namespace Gateway.Tls;

/// <summary>A listener certificate as loaded, with the handshake options built once for it (reused by every handshake).</summary>
internal sealed record ListenerCertificate(LoadedCertificate Loaded, CertificateFileSource Source, SslServerAuthenticationOptions Options);
