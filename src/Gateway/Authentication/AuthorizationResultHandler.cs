// The answer to a refused request: ASP.NET Core's challenge (401 with WWW-Authenticate: Bearer, from each scheme of
// the policy) or forbid (403), then the gateway's JSON error body, as every other refusal of the gateway has.
// Gap: ASP.NET Core's default handler answers with an empty body. Also counts every decision.
using Gateway.Foundation;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace Gateway.Authentication;

internal sealed class AuthorizationResultHandler(AuthMetrics metrics, IAuthorizationPolicyProvider policies, IOptionsMonitor<JwtBearerOptions> schemes) : IAuthorizationMiddlewareResultHandler
{
    public static readonly byte[] Unauthorized = ErrorBody.Create("unauthorized");
    public static readonly byte[] ForbiddenBody = ErrorBody.Create("forbidden");

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        var route = context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.RouteId ?? "unknown";
        if (authorizeResult.Succeeded)
        {
            metrics.Record(route, AuthMetrics.Allowed);
            CachedAuthorizationStep.RememberAllowed(context, policy, policies, schemes); // the next request with this token skips all this
            return next(context);
        }

        if (authorizeResult.Challenged)
        {
            metrics.Record(route, context.Request.Headers.Authorization.Count == 0 ? AuthMetrics.Missing : AuthMetrics.Invalid);
            return RefuseAsync(context, policy, StatusCodes.Status401Unauthorized, Unauthorized);
        }

        metrics.Record(route, AuthMetrics.Forbidden);
        return RefuseAsync(context, policy, StatusCodes.Status403Forbidden, ForbiddenBody);
    }

    private static async Task RefuseAsync(HttpContext context, AuthorizationPolicy policy, int status, byte[] body)
    {
        foreach (var scheme in policy.AuthenticationSchemes)
        {
            if (status == StatusCodes.Status401Unauthorized)
            {
                await context.ChallengeAsync(scheme);
            }
            else
            {
                await context.ForbidAsync(scheme);
            }
        }

        await ErrorBody.WriteAsync(context.Response, status, body, context.RequestAborted);
    }
}
