// A scope claim holds several values in one string ("orders.read orders.write", RFC 8693 / RFC 9068), which
// ASP.NET Core's ClaimsAuthorizationRequirement compares whole; this one accepts a token that has any listed value.
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace Gateway.Authentication;

internal static class ScopeClaims
{
    public static bool IsScope(string claimType) =>
        string.Equals(claimType, "scope", StringComparison.Ordinal) || string.Equals(claimType, "scp", StringComparison.Ordinal);
}

internal sealed class ScopeClaimRequirement(string claimType, string[] accepted)
    : AuthorizationHandler<ScopeClaimRequirement>, IAuthorizationRequirement
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeClaimRequirement requirement)
    {
        if (HasAny(context.User))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }

    private bool HasAny(ClaimsPrincipal user)
    {
        foreach (var identity in user.Identities)
        {
            foreach (var claim in identity.FindAll(claimType))
            {
                foreach (var range in claim.Value.AsSpan().Split(' '))
                {
                    var scope = claim.Value.AsSpan()[range];
                    foreach (var candidate in accepted)
                    {
                        if (scope.Equals(candidate, StringComparison.Ordinal))
                        {
                            return true;
                        }
                    }
                }
            }
        }

        return false;
    }

    public override string ToString() => $"{claimType} has one of: {string.Join(", ", accepted)}";
}
