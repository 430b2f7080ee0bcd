using Gateway.Cors;
using Microsoft.AspNetCore.Cors;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Gateway.Tests.Cors;

/// <summary>The fast path answers exactly as ASP.NET Core's CorsMiddleware does, request for request.</summary>
public sealed class ActualRequestCorsTests
{
    public static TheoryData<string, string, string?> Cases()
    {
        var data = new TheoryData<string, string, string?>();
        foreach (var policy in Policies.Keys)
        {
            foreach (var method in new[] { "GET", "POST", "OPTIONS" })
            {
                foreach (var origin in new[] { "https://app.example.com", "https://b.example.com", "https://sub.example.org", "https://evil.example.net", "", null })
                {
                    data.Add(policy, method, origin);
                }
            }
        }

        return data;
    }

    private static readonly Dictionary<string, Func<CorsPolicy>> Policies = new()
    {
        ["any"] = () => new CorsPolicyBuilder().AllowAnyOrigin().WithMethods("GET").Build(),
        ["any-exposed"] = () => new CorsPolicyBuilder().AllowAnyOrigin().AllowAnyMethod().WithExposedHeaders("X-Total", "X-Page").Build(),
        ["one"] = () => new CorsPolicyBuilder().WithOrigins("https://app.example.com").WithMethods("GET").Build(),
        ["two-credentials"] = () => new CorsPolicyBuilder().WithOrigins("https://app.example.com", "https://b.example.com").WithMethods("GET", "POST")
            .AllowCredentials().WithExposedHeaders("X-Request-Id").SetPreflightMaxAge(TimeSpan.FromMinutes(10)).Build(),
        ["wildcard-subdomains"] = () => new CorsPolicyBuilder().WithOrigins("https://*.example.org").SetIsOriginAllowedToAllowWildcardSubdomains().AllowAnyHeader().Build(),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Headers_Status_AndWhetherTheRequestGoesOn_MatchCorsMiddleware(string policyName, string method, string? origin)
    {
        var policy = Policies[policyName]();
        var provider = new OnePolicy(policy);
        var service = new CorsService(Options.Create(new CorsOptions()), NullLoggerFactory.Instance);

        var expected = await RunAsync(next => (HttpContext c) => new CorsMiddleware(next, service, NullLoggerFactory.Instance).Invoke(c, provider), method, origin);
        var actual = await RunAsync(next => new ActualRequestCors(next, new CorsMiddleware(next, service, NullLoggerFactory.Instance), provider, service).Invoke, method, origin);

        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(expected.WentOn, actual.WentOn);
        Assert.Equal(expected.Headers, actual.Headers);
        Assert.True(actual.MarkedForEndpointMiddleware);
    }

    [Fact]
    public async Task AnUpstreamsOwnCorsHeaders_AreReplaced_ForAnAllowedOrigin()
    {
        var policy = Policies["one"]();
        var service = new CorsService(Options.Create(new CorsOptions()), NullLoggerFactory.Instance);
        var result = await RunAsync(next => new ActualRequestCors(next, new CorsMiddleware(next, service, NullLoggerFactory.Instance), new OnePolicy(policy), service).Invoke, "GET", "https://app.example.com");

        Assert.Contains("Access-Control-Allow-Origin: https://app.example.com", result.Headers);
        Assert.DoesNotContain(result.Headers, h => h.Contains("upstream.example", StringComparison.Ordinal));
    }

    private static async Task<Outcome> RunAsync(Func<RequestDelegate, RequestDelegate> build, string method, string? origin)
    {
        var starting = new StartingRecorder();
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpResponseFeature>(starting);
        context.SetEndpoint(new Endpoint(_ => Task.CompletedTask, new EndpointMetadataCollection(new EnableCorsAttribute("p")), "route"));
        context.Request.Method = method;
        if (origin is not null)
        {
            context.Request.Headers.Origin = origin;
        }

        if (method == "OPTIONS")
        {
            context.Request.Headers.AccessControlRequestMethod = "GET";
        }

        var wentOn = false;
        var step = build(c =>
        {
            wentOn = true;
            c.Response.Headers.AccessControlAllowOrigin = "https://upstream.example"; // as YARP copies an upstream's headers
            return Task.CompletedTask;
        });

        await step(context);
        await starting.StartAsync();
        var headers = context.Response.Headers
            .Select(h => $"{h.Key}: {h.Value}")
            .Order(StringComparer.Ordinal)
            .ToList();
        return new Outcome(context.Response.StatusCode, wentOn, headers, context.Items.ContainsKey("__CorsMiddlewareWithEndpointInvoked"));
    }

    private sealed record Outcome(int Status, bool WentOn, List<string> Headers, bool MarkedForEndpointMiddleware);

    private sealed class OnePolicy(CorsPolicy policy) : ICorsPolicyProvider
    {
        public Task<CorsPolicy?> GetPolicyAsync(HttpContext context, string? policyName) => Task.FromResult<CorsPolicy?>(policy);
    }

    /// <summary>Runs OnStarting callbacks as Kestrel does: last registered first.</summary>
    private sealed class StartingRecorder : HttpResponseFeature
    {
        private readonly Stack<(Func<object, Task> Callback, object State)> _callbacks = new();

        public override void OnStarting(Func<object, Task> callback, object state) => _callbacks.Push((callback, state));

        public async Task StartAsync()
        {
            while (_callbacks.TryPop(out var entry))
            {
                await entry.Callback(entry.State);
            }
        }
    }
}
