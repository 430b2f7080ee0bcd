using System.Security.Claims;
using Gateway.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy.Transforms;

namespace Gateway.Tests.Authentication;

public sealed class ClaimHeadersTransformTests
{
    private static readonly ClaimHeadersTransform Transform = new("orders", ["X-User-Id", "X-Roles", "X-Name"], ["sub", "roles", "name"], NullLogger<ClaimHeadersTransform>.Instance);

    [Fact]
    public async Task ForgedHeaders_AreRemoved_ThenSetFromTheValidatedClaims_SeveralJoined_UnsafeOnesLeftOut()
    {
        var identity = new ClaimsIdentity([new("sub", "user-42"), new("roles", "admin"), new("roles", "ops"), new("name", "bad\r\nX-Evil: 1")], "idp");
        var context = await ApplyAsync(new ClaimsPrincipal(identity));
        Assert.Equal(["user-42"], context.Headers.GetValues("X-User-Id"));
        Assert.Equal(["admin,ops"], context.Headers.GetValues("X-Roles"));
        Assert.False(context.Headers.Contains("X-Name"));
    }

    [Fact]
    public async Task WithoutAValidatedUser_ForgedHeadersAreRemoved_AndNothingIsSet()
    {
        var context = await ApplyAsync(new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "forged")]))); // not authenticated
        Assert.False(context.Headers.Contains("X-User-Id"));
        Assert.False(context.Headers.Contains("X-Roles"));
    }

    private static async Task<HttpRequestMessage> ApplyAsync(ClaimsPrincipal user)
    {
        var proxyRequest = new HttpRequestMessage(HttpMethod.Get, "http://upstream/");
        proxyRequest.Headers.TryAddWithoutValidation("X-User-Id", "admin");
        proxyRequest.Headers.TryAddWithoutValidation("X-Roles", "root");
        var context = new RequestTransformContext { HttpContext = new DefaultHttpContext { User = user }, ProxyRequest = proxyRequest, Path = "/", Query = new QueryTransformContext(new DefaultHttpContext().Request), DestinationPrefix = "http://upstream" };
        await Transform.ApplyAsync(context);
        return proxyRequest;
    }
}
