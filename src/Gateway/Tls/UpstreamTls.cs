// The Tls block's part in each cluster's pool (through Pooling's IPoolHandlerSetup): a change to the block, or to the
// files it names, rebuilds the pool and retires the old one (its in-flight requests finish on it). A file change is not a
// config change, so the version of the cluster's files also goes into its Metadata (IClusterMetadataSource): YARP then
// sees the cluster change and asks the pool factory for its client again.
using System.Collections.Concurrent;
using Gateway.Foundation;
using Gateway.Pooling;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace Gateway.Tls;

internal sealed class UpstreamTls : IPoolHandlerSetup, IClusterChangeListener, IClusterMetadataSource, IDisposable
{
    private readonly IOptionsMonitor<TlsOptions> _options;
    private readonly TlsMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<UpstreamTls> _logger;
    private readonly ConcurrentDictionary<string, UpstreamTrust> _trusts = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();
    private long _stamp;

    public UpstreamTls(IOptionsMonitor<TlsOptions> options, TlsMetrics metrics, TimeProvider time, ILogger<UpstreamTls> logger)
    {
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        metrics.AddInventory(InUse);
    }

    public IEnumerable<UpstreamTrust> Trusts => _trusts.Values;

    public event Action? Changed;

    public string MetadataKey => "Gateway.Tls.FilesVersion";

    public string? GetValue(ClusterConfig cluster) =>
        UpstreamTlsOptions.Block.Get(cluster.Metadata).Own is null
            ? null
            : (_trusts.TryGetValue(cluster.ClusterId, out var trust) ? trust.FilesVersion : 0).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The block and the version of its files (live, so the dry run compares like with like).</summary>
    public object? Settings(string clusterId, IReadOnlyDictionary<string, string>? metadata) =>
        UpstreamTlsSettings.From(clusterId, UpstreamTlsOptions.Block.Get(metadata).Own) is { } tls
            ? new UpstreamPoolSettings(tls, _trusts.TryGetValue(clusterId, out var trust) && trust.Settings == tls ? trust.FilesVersion : 0)
            : null;

    public void Configure(string clusterId, object settings, SocketsHttpHandler handler)
    {
        var tls = ((UpstreamPoolSettings)settings).Tls;
        UpstreamTrust trust;
        lock (_lock)
        {
            if (!_trusts.TryGetValue(clusterId, out trust!) || trust.Settings != tls)
            {
                var replaced = trust;
                trust = new UpstreamTrust(
                    tls, _options.CurrentValue.PollInterval, _metrics, _time, _logger, () => Interlocked.Increment(ref _stamp), () => Changed?.Invoke());
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
