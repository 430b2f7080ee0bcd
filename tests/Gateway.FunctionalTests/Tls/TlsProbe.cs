using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Tls;

/// <summary>Real handshakes against a listener: which certificate it presents for a server name.</summary>
public static class TlsProbe
{
    /// <summary>Handshakes with <paramref name="serverName"/> as SNI and returns the presented certificate (any accepted; the test compares it).</summary>
    public static async Task<X509Certificate2> PresentedAsync(int port, string serverName)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        await using var ssl = new SslStream(tcp.GetStream());
        X509Certificate2? presented = null;
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                presented = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                return true;
            },
        });
        return presented ?? throw new InvalidOperationException("no certificate presented");
    }

    /// <summary>An HTTPS client for the listener that trusts exactly <paramref name="ca"/> and reports every certificate it validates.</summary>
    public static HttpClient Client(int port, TestCertificate ca, Action<X509Certificate2>? onHandshake = null, int maxConnections = int.MaxValue) =>
        new(new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = maxConnections,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    onHandshake?.Invoke(presented);
                    return IssuedBy(presented, ca);
                },
            },
        })
        {
            BaseAddress = new Uri($"https://127.0.0.1:{port}"),
            Timeout = TimeSpan.FromSeconds(30),
        };

    public static bool IssuedBy(X509Certificate2 certificate, TestCertificate ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca.Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}

