using Gateway.Foundation;

namespace Gateway.RequestBuffering;

internal static class RequestBufferingExtensions
{
    /// <summary>The route-level <c>RequestBuffering</c> block (off by default).</summary>
    public static IServiceCollection AddRequestBuffering(this IServiceCollection services)
    {
        services.AddExtensionBlock(RequestBufferingOptions.Block);
        services.AddSingleton<RequestBufferingMetrics>();
        services.AddSingleton<RequestBufferingStep>();
        return services;
    }

    /// <summary>Before the traffic split's mirror and anything that connects upstream: they get the buffered body.</summary>
    public static IReverseProxyApplicationBuilder UseRequestBuffering(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseStep<RequestBufferingStep>();
        return proxy;
    }
}
