using Gateway.Foundation;

namespace Gateway.ErrorResponses;

internal static class ErrorResponsesExtensions
{
    /// <summary>
    /// Upstream error bodies and the 504 for a fired route timeout. Also ASP.NET Core's request timeouts, which YARP's
    /// route <c>Timeout</c> needs (<c>app.UseRequestTimeouts()</c> after <c>UseRouting</c>).
    /// </summary>
    public static IServiceCollection AddUpstreamErrorResponses(this IServiceCollection services)
    {
        services.AddSingleton<ForwarderErrorReport>();
        services.AddSingleton<UpstreamErrorResponseStep>();
        services.AddRequestTimeouts();
        return services;
    }

    /// <summary>Outside the retries: the body describes the request's final outcome, not a failed attempt.</summary>
    public static IReverseProxyApplicationBuilder UseUpstreamErrorResponses(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseStep<UpstreamErrorResponseStep>();
        return proxy;
    }
}
