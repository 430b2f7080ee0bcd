// Connection middleware on a named Kestrel endpoint, from any capability.
// Gap: Kestrel's config loader keeps one configure action per endpoint name (a second Endpoint(name, ...) call replaces
// the first) and a second Configure(...) call replaces the loader, so capabilities cannot each hook a listener on their
// own without an ordering rule between them. They register here; one setup applies every hook, in registration order.
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Gateway.Foundation;

internal sealed record ListenerConnectionMiddleware(string EndpointName, Func<IServiceProvider, Func<ConnectionDelegate, ConnectionDelegate>> Create);

internal static class ListenerConnectionMiddlewareExtensions
{
    public static IServiceCollection AddListenerConnectionMiddleware(
        this IServiceCollection services, string endpointName, Func<IServiceProvider, Func<ConnectionDelegate, ConnectionDelegate>> create)
    {
        services.AddSingleton(new ListenerConnectionMiddleware(endpointName, create));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>, KestrelEndpointsSetup>());
        return services;
    }

    /// <summary>Registers <typeparamref name="TTls"/> to set up TLS on every endpoint, after its connection middleware.</summary>
    public static IServiceCollection AddListenerTls<[System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicConstructors)] TTls>(this IServiceCollection services)
        where TTls : class, IListenerTls
    {
        services.AddSingleton<TTls>();
        services.AddSingleton<IListenerTls>(sp => sp.GetRequiredService<TTls>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>, KestrelEndpointsSetup>());
        return services;
    }

    private sealed class KestrelEndpointsSetup(
        IConfiguration configuration, IEnumerable<ListenerConnectionMiddleware> hooks, IEnumerable<IListenerTls> tls, IServiceProvider services)
        : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions kestrel)
        {
            // Listeners are fixed at start: a reload never rebinds ports.
            var loader = kestrel.Configure(configuration.GetSection("Kestrel"), reloadOnChange: false);
            var byEndpoint = new Dictionary<string, List<Func<ConnectionDelegate, ConnectionDelegate>>>(StringComparer.OrdinalIgnoreCase);
            foreach (var hook in hooks)
            {
                if (!byEndpoint.TryGetValue(hook.EndpointName, out var list))
                {
                    byEndpoint[hook.EndpointName] = list = [];
                }

                list.Add(hook.Create(services));
            }

            var listenerTls = tls.ToArray();
            if (listenerTls.Length > 0)
            {
                foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
                {
                    byEndpoint.TryAdd(endpoint.Key, []);
                }
            }

            foreach (var (name, middleware) in byEndpoint)
            {
                loader.Endpoint(name, endpoint =>
                {
                    foreach (var use in middleware)
                    {
                        endpoint.ListenOptions.Use(use);
                    }

                    // Last: connection middleware added after UseHttps would see decrypted bytes.
                    foreach (var setup in listenerTls)
                    {
                        setup.Configure(endpoint);
                    }
                });
            }
        }
    }
}
