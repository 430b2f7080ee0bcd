// One long-lived SocketsHttpHandler pool per cluster, built from the cluster's ConnectionPool block and YARP's
// HttpClient block. Extends YARP's factory for its HttpClient handling (ConfigureHandler); adds pool settings,
// connection counting, reuse across reloads when pool settings are unchanged, and retirement of replaced pools.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Pooling;

internal sealed class ClusterPoolFactory(
    ClusterPools pools,
    PoolRetirement retirement,
    PoolMetrics metrics,
    IEnumerable<IUpstreamConnectObserver> connectObservers,
    IEnumerable<IPoolHandlerSetup> handlerSetups,
    ILogger<ForwarderHttpClientFactory> yarpLogger,
    ILogger<ClusterPoolFactory> logger)
    : ForwarderHttpClientFactory(yarpLogger), IForwarderHttpClientFactory
{
    // Held so the pool instruments exist as soon as the first pool does.
    private readonly PoolMetrics _metrics = metrics;
    private readonly IUpstreamConnectObserver[] _connectObservers = connectObservers.ToArray();
    private readonly IPoolHandlerSetup[] _handlerSetups = handlerSetups.ToArray();

    HttpMessageInvoker IForwarderHttpClientFactory.CreateClient(ForwarderHttpClientContext context)
    {
        var settings = ResolveSettings(context);
        var handlerSettings = new object?[_handlerSetups.Length];
        for (var i = 0; i < _handlerSetups.Length; i++)
        {
            handlerSettings[i] = _handlerSetups[i].Settings(context.ClusterId, context.NewMetadata);
        }

        var old = context.OldClient as ClusterInvoker;
        if (old is not null && !old.IsDisposed && old.Settings == settings && context.OldConfig == context.NewConfig
            && SameHandlerSettings(old.HandlerSettings, handlerSettings))
        {
            Log.PoolReused(logger, context.ClusterId, old.Generation);
            return old;
        }

        var stats = pools.StatsFor(context.ClusterId);
        var handler = new SocketsHttpHandler
        {
            // As YARP: a proxy forwards exactly what it got, so no proxy, redirects, decompression or cookies.
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        };

        // YARP's HttpClient block: SSL protocols, certificate validation, header encodings, web proxy.
        ConfigureHandler(context, handler);

        // Ours win over YARP's defaults; each differs from YARP only where its doc comment says so.
        handler.MaxConnectionsPerServer = settings.MaxConnectionsPerServer;
        handler.PooledConnectionIdleTimeout = settings.IdleTimeout;
        handler.PooledConnectionLifetime = settings.Lifetime;
        handler.ConnectTimeout = settings.ConnectTimeout;
        handler.EnableMultipleHttp2Connections = settings.EnableMultipleHttp2Connections;
        handler.KeepAlivePingDelay = settings.KeepAlivePingDelay;
        handler.KeepAlivePingTimeout = settings.KeepAlivePingTimeout;
        handler.KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests;
        handler.ResponseDrainTimeout = settings.ResponseDrainTimeout;
        handler.MaxResponseHeadersLength = settings.MaxResponseHeadersLength;
        for (var i = 0; i < _handlerSetups.Length; i++)
        {
            if (handlerSettings[i] is { } own)
            {
                _handlerSetups[i].Configure(context.ClusterId, own, handler);
            }
        }

        // Counting in the connect callback is exact: one call per TCP connection the upstream accepts.
        handler.ConnectCallback = async (connect, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(connect.DnsEndPoint, cancellationToken);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                foreach (var observer in _connectObservers)
                {
                    observer.ConnectFailed(context.ClusterId, connect.DnsEndPoint, ex.SocketErrorCode);
                }

                throw;
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            foreach (var observer in _connectObservers)
            {
                observer.Connected(context.ClusterId, connect.DnsEndPoint);
            }

            return new CountedConnectionStream(socket, stats, connect.DnsEndPoint.Host, connect.DnsEndPoint.Port);
        };

        var invoker = new ClusterInvoker(context.ClusterId, pools.NextGeneration(), settings, stats, handler) { HandlerSettings = handlerSettings };
        pools.SetCurrent(invoker);
        Log.PoolCreated(logger, context.ClusterId, invoker.Generation, old is null ? "cluster added" : "pool settings changed");
        if (old is not null)
        {
            retirement.Retire(old, "replaced by a pool with new settings");
        }

        return invoker;
    }

    /// <summary>Whether every <see cref="IPoolHandlerSetup"/>'s settings are equal (by value) to those a pool was built with.</summary>
    internal static bool SameHandlerSettings(object?[] built, object?[] wanted)
    {
        if (built.Length != wanted.Length)
        {
            return false;
        }

        for (var i = 0; i < built.Length; i++)
        {
            if (!Equals(built[i], wanted[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static PoolSettings ResolveSettings(ForwarderHttpClientContext context)
    {
        var block = ConnectionPoolOptions.Block.Get(context.NewMetadata);
        return PoolSettings.Resolve(block.Own, block.Defaults, context.NewConfig);
    }
}
