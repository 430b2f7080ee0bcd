// Takes over TLS on each https:// Kestrel endpoint whose certificates are files (Kestrel's Certificate and Sni blocks,
// or Kestrel:Certificates:Default): the same keys and the same selection, with certificates that rotate. Endpoints whose
// certificate comes from the store, or that ask clients for certificates, stay with Kestrel's own set-up (no rotation).
using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Authentication;
using Gateway.Foundation;
using Microsoft.AspNetCore.Server.Kestrel;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace Gateway.Tls;

internal sealed class ListenerTls : IListenerTls, IDisposable
{
    /// <summary>When an endpoint names no SslProtocols: TLS 1.2 and 1.3 (Kestrel would leave it to the OS).</summary>
    public const SslProtocols DefaultProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    private readonly IConfiguration _configuration;
    private readonly IOptionsMonitor<TlsOptions> _options;
    private readonly TlsMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<ListenerTls> _logger;
    private readonly ListenerHandshakeFailures _failures;
    private readonly ConcurrentDictionary<string, ListenerCertificates> _listeners = new(StringComparer.OrdinalIgnoreCase);

    public ListenerTls(
        IConfiguration configuration, IOptionsMonitor<TlsOptions> options, TlsMetrics metrics, ListenerHandshakeFailures failures, TimeProvider time, ILogger<ListenerTls> logger)
    {
        _failures = failures;
        _configuration = configuration;
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        metrics.AddInventory(InUse);
    }

    public IEnumerable<ListenerCertificates> Listeners => _listeners.Values;

    public void Configure(EndpointConfiguration endpoint)
    {
        if (!endpoint.IsHttps)
        {
            return;
        }

        var section = endpoint.ConfigSection;
        var name = section.Key;
        if (endpoint.ListenOptions.IPEndPoint is { } address)
        {
            _failures.Listening(address.Port, name);
            _metrics.SeedListener(name);
        }

        var sniSections = section.GetSection("Sni").GetChildren().ToList();
        if (section["ClientCertificateMode"] is not null || sniSections.Exists(s => s["ClientCertificateMode"] is not null))
        {
            Log.ListenerTlsLeftToKestrel(_logger, name, "ClientCertificateMode is set");
            return;
        }

        var fallback = CertificateFileSource.From(section.GetSection("Certificate"));
        if (fallback is null && !section.GetSection("Certificate").Exists())
        {
            fallback = CertificateFileSource.From(_configuration.GetSection("Kestrel:Certificates:Default"));
        }

        var sniSources = new List<(string Host, CertificateFileSource Source, SslProtocols Protocols)>();
        foreach (var sni in sniSections)
        {
            var source = sni.GetSection("Certificate").Exists() ? CertificateFileSource.From(sni.GetSection("Certificate")) : fallback;
            if (source is null)
            {
                Log.ListenerTlsLeftToKestrel(_logger, name, $"Sni '{sni.Key}' has no certificate file");
                return;
            }

            sniSources.Add((sni.Key, source, Protocols(sni.GetSection("SslProtocols")) ?? EndpointProtocols(endpoint)));
        }

        if (fallback is null && sniSources.Count == 0)
        {
            Log.ListenerTlsLeftToKestrel(_logger, name, "the certificate is not a file");
            return;
        }

        var alpn = Alpn(endpoint.ListenOptions.Protocols);
        var poll = _options.CurrentValue.PollInterval;
        var owner = $"Listener '{name}'";
        var defaultSet = fallback is null ? null : Watch(owner, "default", fallback, EndpointProtocols(endpoint), alpn, poll);
        var sniSets = sniSources.ConvertAll(s => Watch(owner, s.Host, s.Source, s.Protocols, alpn, poll));
        var certificates = new ListenerCertificates(name, defaultSet, sniSets);
        _listeners[name] = certificates;
        endpoint.ListenOptions.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = ListenerCertificates.Select,
            OnConnectionState = certificates,
            HandshakeTimeout = endpoint.HttpsOptions.HandshakeTimeout,
        });
        Log.ListenerTls(_logger, name, string.Join(", ", certificates.All.Select(s => s.Name)), EndpointProtocols(endpoint).ToString());
    }

    private CertificateFileSet<ListenerCertificate> Watch(
        string owner, string name, CertificateFileSource source, SslProtocols protocols, List<SslApplicationProtocol> alpn, TimeSpan poll) =>
        new(owner, name, [source.Path, source.KeyPath], now => Load(source, protocols, alpn, now),
            static c => (c.Loaded.Certificate.Subject, c.Loaded.Certificate.NotAfter.ToUniversalTime()), poll, _metrics, _time, _logger);

    private static (ListenerCertificate? Value, string? Error) Load(CertificateFileSource source, SslProtocols protocols, List<SslApplicationProtocol> alpn, DateTime now)
    {
        if (CertificateFiles.LoadWithKey(source, now, out var error) is not { } loaded)
        {
            return (null, error);
        }

        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(loaded.Certificate, loaded.Chain, offline: true),
            EnabledSslProtocols = protocols,
            ApplicationProtocols = alpn,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
        };
        return (new ListenerCertificate(loaded, source, options), null);
    }

    private static SslProtocols EndpointProtocols(EndpointConfiguration endpoint) =>
        endpoint.HttpsOptions.SslProtocols == SslProtocols.None ? DefaultProtocols : endpoint.HttpsOptions.SslProtocols;

    private static SslProtocols? Protocols(IConfigurationSection section)
    {
        SslProtocols? protocols = null;
        if (section.Value is { } single && Enum.TryParse<SslProtocols>(single, ignoreCase: true, out var one))
        {
            protocols = one;
        }

        foreach (var item in section.GetChildren())
        {
            if (Enum.TryParse<SslProtocols>(item.Value, ignoreCase: true, out var value))
            {
                protocols = (protocols ?? SslProtocols.None) | value;
            }
        }

        return protocols;
    }

    // HTTP/2 by ALPN where the endpoint speaks it (Kestrel's default, Http1AndHttp2); HTTP/3 is not on TCP.
    private static List<SslApplicationProtocol> Alpn(HttpProtocols protocols) => protocols switch
    {
        HttpProtocols.Http1 => [SslApplicationProtocol.Http11],
        HttpProtocols.Http2 => [SslApplicationProtocol.Http2],
        _ => [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
    };

    private IEnumerable<CertificateInUse> InUse()
    {
        foreach (var listener in _listeners.Values)
        {
            foreach (var set in listener.All)
            {
                var current = set.Current;
                yield return new CertificateInUse(CertificateInUse.Listener, listener.Endpoint, set.Name, current.Loaded.Certificate, current.Source.Path, current.Source.KeyPath);
            }
        }
    }

    public void Dispose()
    {
        foreach (var listener in _listeners.Values)
        {
            listener.Dispose();
        }
    }
}
