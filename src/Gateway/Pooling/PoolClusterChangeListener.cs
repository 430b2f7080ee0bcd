// YARP tells listeners when a cluster disappears from config; its pool is then retired.
using Yarp.ReverseProxy.Model;

namespace Gateway.Pooling;

internal sealed class PoolClusterChangeListener(ClusterPools pools, PoolRetirement retirement) : IClusterChangeListener
{
    public void OnClusterAdded(ClusterState cluster)
    {
    }

    public void OnClusterChanged(ClusterState cluster)
    {
    }

    public void OnClusterRemoved(ClusterState cluster)
    {
        if (cluster.Model.HttpClient is ClusterInvoker invoker && pools.RemoveCurrent(invoker))
        {
            retirement.Retire(invoker, "cluster removed from config");
        }
    }
}
