// gateway.tls.certificate.expiry {listener|cluster, name}: each certificate in use, as the Unix time of its notAfter
// (an alert subtracts time()); gateway.tls.handshake.failures {side, listener|cluster, reason};
// gateway.tls.certificate.reloads {result}: both results at 0 from start, so the first rejected rotation shows in increase().
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy;

namespace Gateway.Tls;

internal sealed class TlsMetrics
{
    public const string Applied = "applied";
    public const string Rejected = "rejected";

    private readonly Counter<long> _handshakeFailures;
    private readonly Counter<long> _reloads;
    private readonly List<Func<IEnumerable<CertificateInUse>>> _inventories = [];

    public TlsMetrics(IMeterFactory meterFactory, KnownSeries knownSeries)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        meter.CreateObservableGauge("gateway.tls.certificate.expiry", Observe, "s",
            "Unix time of each certificate's notAfter (listener certificates by listener and name: default or the SNI host; cluster ones by cluster and name: client or ca:<subject>).");
        _handshakeFailures = meter.CreateCounter<long>("gateway.tls.handshake.failures", "{handshake}",
            "Failed TLS handshakes: side=listener (by listener, reason from Kestrel) or side=upstream (by cluster: UntrustedRoot, NameMismatch, Expired, NoCertificate, ...).");
        _reloads = meter.CreateCounter<long>("gateway.tls.certificate.reloads", "{reload}", "Certificate file changes, by result (applied, rejected: the last good certificate kept serving).");
        knownSeries.Add(Seed);
    }

    /// <summary>A source of certificates in use (the listeners', the clusters'), read at every scrape.</summary>
    public void AddInventory(Func<IEnumerable<CertificateInUse>> inventory)
    {
        lock (_inventories)
        {
            _inventories.Add(inventory);
        }
    }

    public IReadOnlyList<CertificateInUse> InUse()
    {
        Func<IEnumerable<CertificateInUse>>[] inventories;
        lock (_inventories)
        {
            inventories = [.. _inventories];
        }

        var all = new List<CertificateInUse>();
        foreach (var inventory in inventories)
        {
            all.AddRange(inventory());
        }

        return all;
    }

    public void Reload(bool applied) => _reloads.Add(1, new TagList { { "result", applied ? Applied : Rejected } });

    /// <summary>The reasons an upstream certificate is refused (UpstreamTrust), each at 0 for every cluster with a Tls block.</summary>
    public static readonly string[] UpstreamReasons = ["UntrustedRoot", "NameMismatch", "Expired", "NoCertificate", "BadSignature", "InvalidChain"];

    /// <summary>Records 0 for each listener reason of <paramref name="listener"/> (a TLS listener starting).</summary>
    public void SeedListener(string listener)
    {
        foreach (var reason in ListenerHandshakeFailures.Reasons)
        {
            _handshakeFailures.Add(0, new TagList { { "side", "listener" }, { "listener", listener }, { "reason", reason } });
        }
    }

    public void ListenerHandshakeFailed(string listener, string reason) =>
        _handshakeFailures.Add(1, new TagList { { "side", "listener" }, { "listener", listener }, { "reason", reason } });

    public void UpstreamHandshakeFailed(string cluster, string reason) =>
        _handshakeFailures.Add(1, new TagList { { "side", "upstream" }, { "cluster", cluster }, { "reason", reason } });

    private IEnumerable<Measurement<long>> Observe()
    {
        foreach (var certificate in InUse())
        {
            yield return new Measurement<long>(
                new DateTimeOffset(certificate.Certificate.NotAfter.ToUniversalTime()).ToUnixTimeSeconds(),
                new TagList { { certificate.Kind, certificate.Owner }, { "name", certificate.Name } });
        }
    }

    private void Seed(IProxyStateLookup state)
    {
        _reloads.Add(0, new TagList { { "result", Applied } });
        _reloads.Add(0, new TagList { { "result", Rejected } });
        foreach (var cluster in state.GetClusters())
        {
            if (UpstreamTlsOptions.Block.Get(cluster.Model.Config.Metadata).Own is null)
            {
                continue;
            }

            foreach (var reason in UpstreamReasons)
            {
                _handshakeFailures.Add(0, new TagList { { "side", "upstream" }, { "cluster", cluster.ClusterId }, { "reason", reason } });
            }
        }
    }
}
