namespace Gateway.Benchmarks.Micro;

/// <summary>The minimal IReverseProxyApplicationBuilder MapReverseProxy hands to its lambda, for building proxy steps outside YARP.</summary>
internal sealed class ProxyAppBuilder(IApplicationBuilder inner) : IReverseProxyApplicationBuilder
{
    public IServiceProvider ApplicationServices { get => inner.ApplicationServices; set => inner.ApplicationServices = value; }
    public Microsoft.AspNetCore.Http.Features.IFeatureCollection ServerFeatures => inner.ServerFeatures;
    public IDictionary<string, object?> Properties => inner.Properties;
    public RequestDelegate Build() => inner.Build();
    public IApplicationBuilder New() => inner.New();
    public IApplicationBuilder Use(Func<RequestDelegate, RequestDelegate> middleware) => inner.Use(middleware);
}
