// The CORS step of routes with a CorsPolicy. An actual (not preflight) cross-origin request to a route with a named or
// Default policy gets its headers here, set as ASP.NET Core's CorsService.ApplyResult sets them, from the same
// CorsPolicy; everything else goes to ASP.NET Core's CorsMiddleware: preflights, YARP's Disable, a policy lookup
// that is not at hand, a policy CorsService refuses.
// Gap: CorsMiddleware evaluates the policy from scratch on every request (a CorsResult with three lists filled from the
// policy, the allowed headers and methods copied although an actual request is sent no such headers, a tuple for
// OnStarting); in a native pinned profile of the edge route that was ~7 % of what the edge policies added per request.
// Here the answer's shape is worked out once per policy instance (a reload builds new instances, and with them new
// shapes) and only the origin check runs per request.
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Cors;

internal sealed class ActualRequestCors(RequestDelegate next, CorsMiddleware middleware, ICorsPolicyProvider policies, ICorsService service)
{
    // CorsMiddleware's marker: EndpointMiddleware refuses an endpoint with CORS metadata without it.
    private const string CorsInvokedKey = "__CorsMiddlewareWithEndpointInvoked";
    private static readonly object CorsInvoked = new();

    private readonly ConditionalWeakTable<CorsPolicy, PolicyHeaders> _shapes = [];

    // Built once: a lambda that captures the service would be a new delegate on every request.
    private readonly ConditionalWeakTable<CorsPolicy, PolicyHeaders>.CreateValueCallback _createShape = policy => new PolicyHeaders(policy, service);

    public Task Invoke(HttpContext context)
    {
        var request = context.Request;
        if (HttpMethods.IsOptions(request.Method)
            || context.GetEndpoint()?.Metadata.GetMetadata<ICorsMetadata>() is not IEnableCorsAttribute enable
            || enable is ICorsPolicyMetadata)
        {
            return middleware.Invoke(context, policies);
        }

        var origin = request.Headers.Origin;
        if (StringValues.IsNullOrEmpty(origin))
        {
            context.Items[CorsInvokedKey] = CorsInvoked;
            return next(context); // not a cross-origin request: no CORS headers, as CorsMiddleware
        }

        var lookup = policies.GetPolicyAsync(context, enable.PolicyName);
        if (!lookup.IsCompletedSuccessfully || lookup.Result is not { } policy || (policy.AllowAnyOrigin && policy.SupportsCredentials))
        {
            return middleware.Invoke(context, policies);
        }

        context.Items[CorsInvokedKey] = CorsInvoked;
        if (policy.AllowAnyOrigin || policy.IsOriginAllowed(origin.ToString()))
        {
            // On starting, after the upstream's headers are copied: ours replace any it sent, as CorsMiddleware's do.
            context.Response.OnStarting(_shapes.GetValue(policy, _createShape).Apply, context);
        }

        return next(context); // an origin the policy refuses gets no CORS headers, so the browser keeps the answer from the page
    }

    /// <summary>What an allowed actual request's response carries under one policy.</summary>
    private sealed class PolicyHeaders
    {
        private readonly bool _anyOrigin;
        private readonly bool _credentials;
        private readonly string[] _exposedHeaders;
        private readonly bool _varyByOrigin;

        public PolicyHeaders(CorsPolicy policy, ICorsService service)
        {
            _anyOrigin = policy.AllowAnyOrigin;
            _credentials = policy.SupportsCredentials;
            _exposedHeaders = [.. policy.ExposedHeaders];

            // Whether the answer varies by origin depends on the policy alone (CorsService.PopulateResult), partly on
            // state it keeps internal (a custom origin check such as wildcard subdomains): asked of CorsService once.
            var probe = new DefaultHttpContext();
            probe.Request.Method = HttpMethods.Get;
            probe.Request.Headers.Origin = "https://probe.invalid";
            _varyByOrigin = service.EvaluatePolicy(probe, policy).VaryByOrigin;
            Apply = ApplyTo;
        }

        public Func<object, Task> Apply { get; }

        private Task ApplyTo(object state)
        {
            var context = (HttpContext)state;
            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = _anyOrigin ? CorsConstants.AnyOrigin : context.Request.Headers.Origin;
            if (_credentials)
            {
                headers.AccessControlAllowCredentials = "true";
            }

            if (_exposedHeaders.Length > 0)
            {
                headers.SetCommaSeparatedValues(CorsConstants.AccessControlExposeHeaders, _exposedHeaders);
            }

            if (_varyByOrigin)
            {
                headers.Append(HeaderNames.Vary, "Origin");
            }

            return Task.CompletedTask;
        }
    }
}
