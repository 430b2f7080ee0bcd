// The edge route's per-request cost (issue 18 benchmark target gateway-edge): authorization of an RS256 bearer token
// against a named policy (UseGatewayAuthorization: ASP.NET Core's JwtBearer handler and authorization middleware, keys
// from a JWKS), and response compression of a 64-byte body (UseCompression). Each operation is one request: a fresh
// HttpContext and request scope, as Kestrel gives, through the gateway's own Use* steps; "baseline" is that context
// and scope alone, to subtract.
// Run: tests/Gateway.Benchmarks/run.sh micro --filter '*EdgeRouteBenchmarks*'
using BenchmarkDotNet.Attributes;
using Gateway.Authentication;
using Gateway.Benchmarks.Load;
using Gateway.Compression;
using Gateway.Foundation;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Gateway.Benchmarks.Micro;

[MemoryDiagnoser]
public class EdgeRouteBenchmarks
{
    private static readonly byte[] Body = new byte[64];

    private ServiceProvider _services = null!;
    private IServiceScopeFactory _scopes = null!;
    private RequestDelegate _authorization = null!;
    private RequestDelegate _aspNetCoreAuthorization = null!;
    private RequestDelegate _compression = null!;
    private ServiceProvider _plainServices = null!;
    private IServiceScopeFactory _plainScopes = null!;
    private RequestDelegate _plainCompression = null!;
    private Endpoint _authEndpoint = null!;
    private Endpoint _compressionEndpoint = null!;
    private string _authorizationHeader = null!;
    private readonly AuthorizeAttribute _authorizeData = new("bench");
    private AuthenticateResult _authenticated = null!;

    [GlobalSetup]
    public void Setup()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Authentication:Schemes:bench:JwksUri"] = "http://127.0.0.1:1" + BenchJwt.JwksPath,
            ["Gateway:Authentication:Schemes:bench:Issuer"] = BenchJwt.Issuer,
            ["Gateway:Authentication:Schemes:bench:Audiences:0"] = BenchJwt.Audience,
            ["Gateway:Authentication:Schemes:bench:RequireHttpsMetadata"] = "false",
            ["Gateway:Authorization:Policies:bench:Schemes:0"] = "bench",
            ["Gateway:Authorization:Policies:bench:RequireAuthenticatedUser"] = "true",
            ["Gateway:Compression:Enabled"] = "true",
            ["Gateway:Compression:MinimumBytes"] = "0",
        }).Build();

        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(config);
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Information)); // as the gateway's appsettings.json
        services.AddMetrics();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<KnownSeries>();
        services.AddGatewayAuthentication();
        services.AddCompression();
        // The same ConfigurationManager and JWKS reader the scheme has, with the document from memory instead of HTTP.
        services.PostConfigure<JwtBearerOptions>("bench", options => options.ConfigurationManager =
            new ConfigurationManager<OpenIdConnectConfiguration>(BenchJwt.JwksPath, new JwksRetriever(BenchJwt.Issuer), new InMemoryDocument(BenchJwt.Jwks)));
        _services = services.BuildServiceProvider();
        _scopes = _services.GetRequiredService<IServiceScopeFactory>();
        foreach (var hosted in _services.GetServices<IHostedService>())
        {
            hosted.StartAsync(CancellationToken.None).GetAwaiter().GetResult(); // JwtSchemes adds the scheme
        }

        var auth = new ApplicationBuilder(_services);
        auth.UseGatewayAuthorization();
        auth.Run(static _ => Task.CompletedTask);
        _authorization = auth.Build();

        // What UseGatewayAuthorization was before CachedAuthorizationStep (and what it still does on a cache miss).
        var before = new ApplicationBuilder(_services);
        before.UseWhen(static context => context.GetEndpoint()?.Metadata.GetMetadata<IAuthorizeData>() is not null, static branch => branch.UseAuthorization());
        before.Run(static _ => Task.CompletedTask);
        _aspNetCoreAuthorization = before.Build();

        var compression = new ApplicationBuilder(_services);
        compression.UseResponseCompression(); // what UseCompression adds
        compression.Run(static context =>
        {
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = Body.Length;
            return context.Response.Body.WriteAsync(Body).AsTask();
        });
        _compression = compression.Build();

        // ASP.NET Core's ResponseCompression as it comes (its own Brotli provider at Fastest, its own provider of which
        // responses to compress), to show what the gateway's per-route wrapper adds.
        var plain = new ServiceCollection();
        plain.AddLogging();
        plain.AddResponseCompression(static options =>
        {
            options.EnableForHttps = true;
            options.Providers.Add<Microsoft.AspNetCore.ResponseCompression.BrotliCompressionProvider>();
        });
        plain.Configure<Microsoft.AspNetCore.ResponseCompression.BrotliCompressionProviderOptions>(static o => o.Level = System.IO.Compression.CompressionLevel.Fastest);
        _plainServices = plain.BuildServiceProvider();
        _plainScopes = _plainServices.GetRequiredService<IServiceScopeFactory>();
        var plainApp = new ApplicationBuilder(_plainServices);
        plainApp.UseResponseCompression();
        plainApp.Run(static context =>
        {
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = Body.Length;
            return context.Response.Body.WriteAsync(Body).AsTask();
        });
        _plainCompression = plainApp.Build();

        // The route endpoints as YARP builds them: the route model, and AuthorizeAttribute for the route's AuthorizationPolicy.
        var authRoute = new RouteModel(new RouteConfig { RouteId = "bench", ClusterId = "bench", AuthorizationPolicy = "bench" }, cluster: null, HttpTransformer.Default);
        _authEndpoint = new Endpoint(static _ => Task.CompletedTask, new EndpointMetadataCollection(authRoute, new AuthorizeAttribute("bench")), "bench");
        // Gateway:Compression's defaults as the config reader carries them in the route's Metadata.
        var compressionDefaults = new Dictionary<string, string> { [CompressionOptions.Block.MetadataKey] = """{"defaults":{"Enabled":"true","MinimumBytes":"0"}}""" };
        var plainRoute = new RouteModel(new RouteConfig { RouteId = "bench", ClusterId = "bench", Metadata = compressionDefaults }, cluster: null, HttpTransformer.Default);
        _compressionEndpoint = new Endpoint(static _ => Task.CompletedTask, new EndpointMetadataCollection(plainRoute), "bench");
        _authorizationHeader = "Bearer " + BenchJwt.Token;

        // Warm: the keys fetched, the token validated once (the validated-token cache then holds it).
        if (Authorized().GetAwaiter().GetResult() != StatusCodes.Status200OK)
        {
            throw new InvalidOperationException("the bench token was refused");
        }

        var check = new DefaultHttpContext { RequestServices = _services.CreateScope().ServiceProvider };
        check.Request.Headers.Authorization = _authorizationHeader;
        _authenticated = check.AuthenticateAsync("bench").GetAwaiter().GetResult();
        var compressed = new DefaultHttpContext { RequestServices = _services.CreateScope().ServiceProvider };
        compressed.SetEndpoint(_compressionEndpoint);
        compressed.Request.Headers.AcceptEncoding = "br, gzip";
        compressed.Response.Body = Stream.Null;
        _compression(compressed).GetAwaiter().GetResult();
        if (compressed.Response.Headers.ContentEncoding != "br")
        {
            throw new InvalidOperationException("the 64-byte body was not compressed");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _services.Dispose();
        _plainServices.Dispose();
    }

    [Benchmark(Baseline = true, Description = "baseline: HttpContext + request scope + Authorization header")]
    public Task<int> Baseline() => RequestAsync(null, _authEndpoint, _authorizationHeader);

    [Benchmark(Description = "UseGatewayAuthorization, valid RS256 token, policy allowed it before (CachedAuthorizationStep)")]
    public Task<int> Authorized() => RequestAsync(_authorization, _authEndpoint, _authorizationHeader);

    [Benchmark(Description = "before: ASP.NET Core's UseAuthorization alone, valid RS256 token (cached), policy allows")]
    public Task<int> AspNetCoreAuthorized() => RequestAsync(_aspNetCoreAuthorization, _authEndpoint, _authorizationHeader);

    [Benchmark(Description = "split: HttpContext.AuthenticateAsync(scheme) alone (JwtBearer handler, cached token)")]
    public async Task<bool> AuthenticateOnly()
    {
        await using var scope = _scopes.CreateAsyncScope();
        var context = NewContext(scope, _authEndpoint);
        context.Request.Headers.Authorization = _authorizationHeader;
        var result = await context.AuthenticateAsync("bench");
        return result.Succeeded;
    }

    [Benchmark(Description = "split: policy combine + IPolicyEvaluator.AuthorizeAsync (principal given)")]
    public async Task<bool> PolicyOnly()
    {
        await using var scope = _scopes.CreateAsyncScope();
        var context = NewContext(scope, _authEndpoint);
        var policy = await AuthorizationPolicy.CombineAsync(_services.GetRequiredService<IAuthorizationPolicyProvider>(), [_authorizeData]);
        var evaluator = context.RequestServices.GetRequiredService<IPolicyEvaluator>();
        var result = await evaluator.AuthorizeAsync(policy!, _authenticated, context, context);
        return result.Succeeded;
    }

    [Benchmark(Description = "UseResponseCompression, 64-byte JSON body, br")]
    public Task<int> Compressed() => RequestAsync(_compression, _compressionEndpoint, authorization: null, "br, gzip");

    [Benchmark(Description = "ASP.NET Core's ResponseCompression without the gateway's route provider, 64-byte JSON body, br")]
    public Task<int> PlainCompressed() => RequestAsync(_plainCompression, endpoint: null, authorization: null, "br, gzip", _plainScopes);

    [Benchmark(Description = "UseResponseCompression, 64-byte JSON body, gzip")]
    public Task<int> CompressedGzip() => RequestAsync(_compression, _compressionEndpoint, authorization: null, "gzip");

    /// <summary>One request through <paramref name="pipeline"/> (none: the context alone), its status.</summary>
    private async Task<int> RequestAsync(RequestDelegate? pipeline, Endpoint? endpoint, string? authorization, string? acceptEncoding = null, IServiceScopeFactory? scopes = null)
    {
        await using var scope = (scopes ?? _scopes).CreateAsyncScope();
        var context = NewContext(scope, endpoint);
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        if (acceptEncoding is not null)
        {
            context.Request.Headers.AcceptEncoding = acceptEncoding;
            context.Response.Body = Stream.Null;
        }

        if (pipeline is not null)
        {
            await pipeline(context);
        }

        return context.Response.StatusCode;
    }

    private static DefaultHttpContext NewContext(AsyncServiceScope scope, Endpoint? endpoint)
    {
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Method = HttpMethods.Get;
        context.Request.Path = "/";
        if (endpoint is not null)
        {
            context.SetEndpoint(endpoint);
        }

        return context;
    }

    private sealed class InMemoryDocument(string document) : IDocumentRetriever
    {
        public Task<string> GetDocumentAsync(string address, CancellationToken cancel) => Task.FromResult(document);
    }
}
