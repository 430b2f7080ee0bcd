using Gateway.Foundation;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Gateway.Streams;

internal static class StreamsExtensions
{
    /// <summary>Open WebSocket tunnels and event streams are registered, so a drain or a retired pool can end them cleanly.</summary>
    public static IServiceCollection AddOpenStreams(this IServiceCollection services)
    {
        services.TryAddSingleton<OpenStreams>();
        services.AddSingleton<Yarp.ReverseProxy.Transforms.Builder.ITransformProvider, OpenStreamTransformProvider>();
        return services;
    }
}
