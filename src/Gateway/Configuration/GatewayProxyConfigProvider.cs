// Hands YARP only configurations that passed our validation (keep-last-good lives in GatewayConfigStore).
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Configuration;

internal sealed class GatewayProxyConfigProvider : IProxyConfigProvider
{
    private volatile Snapshot _current = new([], [], new CancellationTokenSource());

    public IProxyConfig GetConfig() => _current;

    public void Update(ProxySnapshot snapshot)
    {
        var previous = _current;
        _current = new Snapshot(snapshot.Routes, snapshot.Clusters, new CancellationTokenSource());
        previous.Signal();
    }

    private sealed class Snapshot : IProxyConfig
    {
        private readonly CancellationTokenSource _changed;

        public Snapshot(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters, CancellationTokenSource changed)
        {
            Routes = routes;
            Clusters = clusters;
            _changed = changed;
            ChangeToken = new CancellationChangeToken(changed.Token);
        }

        public IReadOnlyList<RouteConfig> Routes { get; }

        public IReadOnlyList<ClusterConfig> Clusters { get; }

        public IChangeToken ChangeToken { get; }

        public void Signal()
        {
            _changed.Cancel();
            _changed.Dispose();
        }
    }
}
