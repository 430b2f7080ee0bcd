// The per-request authorization of routes with an AuthorizationPolicy. A request whose bearer token a policy has already
// allowed (the same token, the same policy instance, the same scheme options, the token's entry within its time) goes
// on at once as the user it was allowed as; every other request goes through ASP.NET Core's authorization middleware
// (JwtBearer handler, policy evaluation, AuthorizationResultHandler), which also fills the cache on success.
// Gap: ASP.NET Core authenticates and evaluates the policy from scratch on every request: a handler instance, a clone of
// TokenValidationParameters, events, a ticket and a principal, a combined policy, an authorization context (~10-12 us
// and ~8.4 KB a request in EdgeRouteBenchmarks, with the token's signature check already cached; this path: ~1 us,
// 296 B). ASP.NET Core has no cache of authentication results, and its policy cache (AllowsCachingPolicies) is per
// endpoint and would outlive a policy reload that leaves the routes as they are.
// Sound because the gateway's policies come from config only (schemes, authenticated user, claims, scopes, roles): a
// pure function of the validated token, which the cache key is; JwtBearer's events here act only on a challenge.
// A reload builds new policy instances and a changed scheme new options with a new cache, so neither meets an old
// decision; refusals (401/403) are never cached and always take ASP.NET Core's path.
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace Gateway.Authentication;

internal sealed class CachedAuthorizationStep(
    RequestDelegate next,
    RequestDelegate aspNetCoreAuthorization,
    IAuthorizationPolicyProvider policies,
    IOptionsMonitor<JwtBearerOptions> schemes,
    AuthMetrics metrics)
{
    // AuthorizationMiddleware's marker: EndpointMiddleware refuses an endpoint with authorization metadata without it.
    private const string AuthorizationInvokedKey = "__AuthorizationMiddlewareWithEndpointInvoked";
    private static readonly object AuthorizationInvoked = new();

    private static readonly ConditionalWeakTable<Endpoint, RouteAuthorization> Routes = [];

    public Task InvokeAsync(HttpContext context)
    {
        // Only requests to a route with an AuthorizationPolicy other than Anonymous need authorization at all.
        if (context.GetEndpoint() is not { } endpoint || endpoint.Metadata.GetMetadata<IAuthorizeData>() is null)
        {
            return next(context);
        }

        var route = Routes.GetValue(endpoint, static e => RouteAuthorization.Of(e));
        if (route.Cacheable && TryCached(context, route))
        {
            context.Items[AuthorizationInvokedKey] = AuthorizationInvoked;
            metrics.Record(route.RouteId, AuthMetrics.Allowed);
            return next(context);
        }

        return aspNetCoreAuthorization(context);
    }

    private bool TryCached(HttpContext context, RouteAuthorization route)
    {
        if (CurrentPolicy(route.PolicyName) is not { AuthenticationSchemes: [var scheme] } policy
            || BearerToken(context.Request) is not { IsEmpty: false } token
            || TokenCache(scheme) is not { } cache
            || !cache.TryGetAllowed(token, policy, out var user))
        {
            return false;
        }

        context.User = user;
        return true;
    }

    /// <summary>The provider's policy when it has it at hand (ours always does: a completed task per policy and reload).</summary>
    private AuthorizationPolicy? CurrentPolicy(string? name) => CurrentPolicy(policies, name);

    private static AuthorizationPolicy? CurrentPolicy(IAuthorizationPolicyProvider policies, string? name)
    {
        if (name is null)
        {
            var defaultPolicy = policies.GetDefaultPolicyAsync();
            return defaultPolicy.IsCompletedSuccessfully ? defaultPolicy.Result : null;
        }

        var named = policies.GetPolicyAsync(name);
        return named.IsCompletedSuccessfully ? named.Result : null;
    }

    /// <summary>
    /// After ASP.NET Core's middleware allowed a request with <paramref name="combined"/> (the policy it built for the
    /// endpoint, a new instance each time): remembered for the request's token under the provider's policy of the route,
    /// when the combined one is that policy (the same schemes and requirement instances).
    /// </summary>
    public static void RememberAllowed(HttpContext context, AuthorizationPolicy combined, IAuthorizationPolicyProvider policies, IOptionsMonitor<JwtBearerOptions> schemes)
    {
        if (context.GetEndpoint() is { } endpoint
            && Routes.TryGetValue(endpoint, out var route)
            && route.Cacheable
            && CurrentPolicy(policies, route.PolicyName) is { AuthenticationSchemes: [var scheme] } policy
            && IsSame(combined, policy)
            && BearerToken(context.Request) is { IsEmpty: false } token
            && TokenCache(schemes, scheme) is { } cache)
        {
            cache.RememberAllowed(token, context.User, policy);
        }
    }

    private static bool IsSame(AuthorizationPolicy combined, AuthorizationPolicy policy)
    {
        if (!combined.AuthenticationSchemes.SequenceEqual(policy.AuthenticationSchemes, StringComparer.Ordinal)
            || combined.Requirements.Count != policy.Requirements.Count)
        {
            return false;
        }

        for (var i = 0; i < policy.Requirements.Count; i++)
        {
            if (!ReferenceEquals(combined.Requirements[i], policy.Requirements[i]))
            {
                return false;
            }
        }

        return true;
    }

    private ValidatedTokenCache? TokenCache(string scheme) => TokenCache(schemes, scheme);

    private static ValidatedTokenCache? TokenCache(IOptionsMonitor<JwtBearerOptions> schemes, string scheme)
    {
        // The scheme's current options (OptionsMonitor's cache: no allocation); JwtBearerOptionsSetup put the cache in.
        var handlers = schemes.Get(scheme).TokenHandlers;
        return handlers.Count == 1 ? handlers[0] as ValidatedTokenCache : null;
    }

    /// <summary>The token as JwtBearerHandler reads it: one Authorization header, "Bearer " (any case), trimmed.</summary>
    private static ReadOnlySpan<char> BearerToken(HttpRequest request)
    {
        var values = request.Headers.Authorization;
        if (values.Count != 1 || values[0] is not { } header || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return default;
        }

        return header.AsSpan("Bearer ".Length).Trim();
    }

    /// <summary>What a route's endpoint asks for, read once per endpoint (YARP builds new endpoints on a route change).</summary>
    private sealed class RouteAuthorization
    {
        public required string RouteId { get; init; }

        /// <summary>The route's AuthorizationPolicy; null for YARP's Default (the provider's default policy).</summary>
        public string? PolicyName { get; init; }

        /// <summary>
        /// Only YARP's shape: one AuthorizeAttribute naming a policy (or none, for Default), nothing else that the
        /// authorization middleware would combine into the policy, and no AllowAnonymous.
        /// </summary>
        public bool Cacheable { get; init; }

        public static RouteAuthorization Of(Endpoint endpoint)
        {
            var metadata = endpoint.Metadata;
            var authorize = metadata.GetOrderedMetadata<IAuthorizeData>();
            var cacheable = authorize.Count == 1
                && string.IsNullOrEmpty(authorize[0].Roles)
                && string.IsNullOrEmpty(authorize[0].AuthenticationSchemes)
                && metadata.GetOrderedMetadata<AuthorizationPolicy>().Count == 0
                && metadata.GetOrderedMetadata<IAuthorizationRequirementData>().Count == 0
                && metadata.GetMetadata<IAllowAnonymous>() is null;
            return new RouteAuthorization
            {
                RouteId = metadata.GetMetadata<RouteModel>()?.Config.RouteId ?? "unknown",
                PolicyName = cacheable ? authorize[0].Policy : null,
                Cacheable = cacheable,
            };
        }
    }
}
