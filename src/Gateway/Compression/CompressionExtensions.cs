using Gateway.Foundation;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Gateway.Compression;

internal static class CompressionExtensions
{
    /// <summary>Response compression per route: the <c>Compression</c> block, its defaults in <c>Gateway:Compression</c>, ASP.NET Core's middleware.</summary>
    public static IServiceCollection AddCompression(this IServiceCollection services)
    {
        services.AddGatewayOptions<CompressionOptions, CompressionOptionsValidator>(CompressionOptions.DefaultsSectionPath);
        services.AddExtensionBlock(CompressionOptions.Block);
        services.AddResponseCompression(static options =>
        {
            // HTTPS too: turning compression on for a route is the opt-in (the BREACH caveat is in docs/caching-and-compression.md).
            options.EnableForHttps = true;
            options.Providers.Add<LeveledBrotliProvider>(); // first: preferred when the client accepts both equally
            options.Providers.Add<LeveledGzipProvider>();
        });
        services.Replace(ServiceDescriptor.Singleton<IResponseCompressionProvider, RouteCompressionProvider>());
        return services;
    }

    /// <summary>Right after routing (it needs the route), outside everything that writes a body: it compresses them all.</summary>
    public static WebApplication UseCompression(this WebApplication app)
    {
        app.UseResponseCompression();
        return app;
    }
}
