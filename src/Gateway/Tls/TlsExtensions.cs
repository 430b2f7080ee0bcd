using Gateway.Foundation;
using Gateway.Pooling;
using Yarp.ReverseProxy.Model;

namespace Gateway.Tls;

internal static class TlsExtensions
{
    /// <summary>
    /// TLS at both ends: listener certificates from files that rotate without a restart (Kestrel's Certificate and Sni
    /// blocks), the per-cluster <c>Tls</c> block (CA bundle, client certificate, server name), the certificate metrics
    /// and <c>GET /admin/certificates</c>.
    /// </summary>
    public static IServiceCollection AddTls(this IServiceCollection services)
    {
        services.AddGatewayOptions<TlsOptions, TlsOptionsValidator>(TlsOptions.SectionPath);
        services.AddExtensionBlock(UpstreamTlsOptions.Block);
        services.AddSingleton<TlsMetrics>();
        services.AddSingleton<ListenerHandshakeFailures>();
        services.AddListenerTls<ListenerTls>();
        services.AddSingleton<UpstreamTls>();
        services.AddSingleton<IPoolHandlerSetup>(sp => sp.GetRequiredService<UpstreamTls>());
        services.AddSingleton<IClusterChangeListener>(sp => sp.GetRequiredService<UpstreamTls>());
        services.AddSingleton<IClusterMetadataSource>(sp => sp.GetRequiredService<UpstreamTls>());
        services.AddSingleton<IAdminEndpoints, CertificatesAdminEndpoints>();
        services.AddSingleton<IStartupSummaryPart, TlsSummaryPart>();
        return services;
    }
}
