// The Tls block's part in each cluster's pool (through Pooling's IPoolHandlerSetup): a change to the block rebuilds the
// pool and retires the old one; a change to the files it names is picked up by the cluster's UpstreamTrust watchers.
using System.Collections.Concurrent;
using Gateway.Pooling;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace Gateway.Tls;

internal sealed class UpstreamTls : IPoolHandlerSetup, IClusterChangeListener, IDisposable
{
    private readonly IOptionsMonitor<TlsOptions> _options;
    private readonly TlsMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<UpstreamTls> _logger;
    private readonly ConcurrentDictionary<string, UpstreamTrust> _trusts = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();

    public UpstreamTls(IOptionsMonitor<TlsOptions> options, TlsMetrics metrics, TimeProvider time, ILogger<UpstreamTls> logger)
    {
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        metrics.AddInventory(InUse);
    }

    public IEnumerable<UpstreamTrust> Trusts => _trusts.Values;

    public object? Settings(string clusterId, IReadOnlyDictionary<string, string>? metadata) =>
        UpstreamTlsSettings.From(clusterId, UpstreamTlsOptions.Block.Get(metadata).Own);

    public void Configure(string clusterId, object settings, SocketsHttpHandler handler)
    {
        var tls = (UpstreamTlsSettings)settings;
        UpstreamTrust trust;
        lock (_lock)
        {
            if (!_trusts.TryGetValue(clusterId, out trust!) || trust.Settings != tls)
            {
                var replaced = trust;
                trust = new UpstreamTrust(tls, _options.CurrentValue.PollInterval, _metrics, _time, _logger);
                _trusts[clusterId] = trust;

                // Its pool's open connections keep the material they were made with; only its watchers stop.
                replaced?.Dispose();
            }
        }

        trust.Apply(handler);
    }

    public void OnClusterAdded(ClusterState cluster)
    {
    }

    public void OnClusterChanged(ClusterState cluster)
    {
    }

    public void OnClusterRemoved(ClusterState cluster)
    {
        if (_trusts.TryRemove(cluster.ClusterId, out var trust))
        {
            trust.Dispose();
        }
    }

    private IEnumerable<CertificateInUse> InUse()
    {
        foreach (var trust in _trusts.Values)
        {
            var cluster = trust.Settings.ClusterId;
            if (trust.Client is { } client)
            {
                var source = trust.Settings.ClientCertificate!;
                yield return new CertificateInUse(CertificateInUse.Cluster, cluster, "client", client.Current.Certificate, source.Path, source.KeyPath);
            }

            if (trust.Bundle is { } bundle)
            {
                foreach (var certificate in bundle.Current)
                {
                    yield return new CertificateInUse(CertificateInUse.Cluster, cluster, $"ca:{certificate.Subject}", certificate, trust.Settings.CaFile!, null);
                }
            }
        }
    }

    public void Dispose()
    {
        foreach (var trust in _trusts.Values)
        {
            trust.Dispose();
        }
    }
}
