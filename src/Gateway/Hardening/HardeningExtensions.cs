// Front-door hardening: Kestrel request limits on the proxy listener, trusted-proxy handling of X-Forwarded-*.
using System.Net;
using Gateway.Foundation;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Gateway.Hardening;

internal static class HardeningExtensions
{
    /// <summary>Registers request limits, the proxy listener's connection limit, request checks and forwarded-header trust.</summary>
    public static IServiceCollection AddHardening(this IServiceCollection services)
    {
        services.AddGatewayOptions<LimitsOptions, LimitsOptionsValidator>(LimitsOptions.SectionPath);
        services.AddGatewayOptions<ForwardedHeadersSettings, ForwardedHeadersSettingsValidator>(ForwardedHeadersSettings.SectionPath);
        services.AddSingleton(new RestartRequiredSection(LimitsOptions.SectionPath, "Kestrel's limits are set when it starts"));
        services.AddSingleton(new RestartRequiredSection(ForwardedHeadersSettings.SectionPath, "the forwarded-headers middleware is built at start"));
        services.AddSingleton<IStartupSummaryPart, LimitsSummaryPart>();
        services.AddSingleton(sp => new ProxyConnectionLimit(
            sp.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxConcurrentConnections,
            sp.GetRequiredService<ILogger<ProxyConnectionLimit>>()));

        services.AddSingleton<RequestGuard>();
        services.AddSingleton<DeclaredBodyLimit>();
        // Kestrel's own MaxConcurrentConnections stays unlimited: it would count management connections too.
        services.AddListenerConnectionMiddleware(ListenerMetadata.ProxyEndpointName, static sp => sp.GetRequiredService<ProxyConnectionLimit>().Middleware);
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>(
            static (kestrel, limitsOptions) =>
            {
                var limits = limitsOptions.Value;
                kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBodySize;
                kestrel.Limits.MaxRequestHeadersTotalSize = limits.MaxRequestHeadersTotalSize;
                kestrel.Limits.MaxRequestHeaderCount = limits.MaxRequestHeaderCount;
                kestrel.Limits.MaxRequestLineSize = limits.MaxRequestLineSize;
                kestrel.Limits.RequestHeadersTimeout = limits.RequestHeadersTimeout;
                kestrel.Limits.MinRequestBodyDataRate = limits.MinRequestBodyDataRate > 0
                    ? new MinDataRate(limits.MinRequestBodyDataRate, limits.MinRequestBodyDataRateGracePeriod)
                    : null;
            });

        services.AddSingleton<Yarp.ReverseProxy.Transforms.Builder.ITransformProvider, RequestHeaderCleanupProvider>();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ForwardedHeadersSettings>>(static (options, settings) =>
            ConfigureTrust(options, settings.Value));
        return services;
    }

    /// <summary>
    /// Honours X-Forwarded-For/Proto/Host only from configured trusted proxies, so <c>Connection.RemoteIpAddress</c>
    /// is the real client behind them (rate limiting partitions on it). YARP's X-Forwarded transforms (action Set)
    /// then write what the gateway believes, replacing whatever an untrusted client sent.
    /// </summary>
    public static IApplicationBuilder UseHardening(this IApplicationBuilder app)
    {
        var services = app.ApplicationServices;
        var settings = services.GetRequiredService<IOptions<ForwardedHeadersSettings>>().Value;
        var limits = services.GetRequiredService<IOptions<LimitsOptions>>().Value;
        var logger = services.GetRequiredService<ILogger<ProxyConnectionLimit>>();
        var fingerprint = TrustFingerprint(settings);
        app.UseStep<RequestGuard>();
        services.GetRequiredService<IOptionsMonitor<LimitsOptions>>().OnChange(current =>
        {
            if (current != limits)
            {
                Log.RestartNeeded(logger);
            }
        });
        services.GetRequiredService<IOptionsMonitor<ForwardedHeadersSettings>>().OnChange(current =>
        {
            if (TrustFingerprint(current) != fingerprint)
            {
                Log.RestartNeeded(logger);
            }
        });

        if (!settings.TrustsAnyone)
        {
            // Nobody is trusted: the middleware would only cost time, YARP's transforms replace the headers anyway.
            return app;
        }

        Log.TrustedProxies(logger, settings.KnownProxies.Length, settings.KnownNetworks.Length);
        return app.UseForwardedHeaders();
    }

    /// <summary>Answers 413 before anything is forwarded when the declared Content-Length exceeds the body limit.</summary>
    public static IReverseProxyApplicationBuilder UseDeclaredBodyLimit(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseStep<DeclaredBodyLimit>();
        return proxy;
    }

    internal static void ConfigureTrust(ForwardedHeadersOptions options, ForwardedHeadersSettings settings)
    {
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;

        // Walk X-Forwarded-For from the right through every trusted hop; stop at the first address nobody vouches for.
        options.ForwardLimit = null;

        // ASP.NET Core trusts loopback by default; a gateway trusts only what the operator lists.
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
#pragma warning disable ASPDEPR005 // the obsolete list is still consulted by the middleware, so empty it too
        options.KnownNetworks.Clear();
#pragma warning restore ASPDEPR005
        foreach (var proxy in settings.KnownProxies)
        {
            if (IPAddress.TryParse(proxy, out var address))
            {
                options.KnownProxies.Add(address);
                if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                {
                    // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
                    options.KnownProxies.Add(address.MapToIPv6());
                }
            }
        }

        foreach (var network in settings.KnownNetworks)
        {
            if (System.Net.IPNetwork.TryParse(network, out var parsed))
            {
                options.KnownIPNetworks.Add(parsed);
            }
        }
    }

    private static string TrustFingerprint(ForwardedHeadersSettings settings) =>
        string.Join(',', settings.KnownProxies) + "|" + string.Join(',', settings.KnownNetworks);
}
