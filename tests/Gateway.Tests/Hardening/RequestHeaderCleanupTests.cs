using Microsoft.Extensions.Configuration;
using Gateway.Hardening;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Transforms;

namespace Gateway.Tests.Hardening;

public sealed class RequestHeaderCleanupTests
{
    private static async Task<HttpRequestMessage> ApplyAsync(string connection, params (string Name, string Value)[] headers)
    {
        var http = new DefaultHttpContext();
        http.Request.Headers.Connection = connection;
        var proxyRequest = new HttpRequestMessage(HttpMethod.Post, "http://upstream/") { Content = new ByteArrayContent([1]) };
        foreach (var (name, value) in headers)
        {
            if (!proxyRequest.Headers.TryAddWithoutValidation(name, value))
            {
                proxyRequest.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        await RequestHeaderCleanup.Instance.ApplyAsync(new RequestTransformContext { HttpContext = http, ProxyRequest = proxyRequest, Path = "/" });
        return proxyRequest;
    }

    [Fact]
    public async Task NominatedHeaders_AreRemoved_ButGatewayOwnedOnesStay()
    {
        var request = await ApplyAsync("keep-alive, X-Hop-Secret ,Cookie,\tContent-Type, X-Forwarded-For, Content-Length",
            ("X-Hop-Secret", "1"), ("Cookie", "a=b"), ("Content-Type", "text/plain"), ("X-Forwarded-For", "1.2.3.4"), ("Content-Length", "1"), ("X-Kept", "yes"));

        Assert.False(request.Headers.Contains("X-Hop-Secret"));
        Assert.False(request.Headers.Contains("Cookie"));
        Assert.Null(request.Content!.Headers.ContentType);
        Assert.True(request.Headers.Contains("X-Forwarded-For"));
        Assert.Equal(1, request.Content.Headers.ContentLength);
        Assert.True(request.Headers.Contains("X-Kept"));
    }

    [Theory]
    [InlineData("not a header name")]
    [InlineData("X(Bad)")]
    [InlineData(",,,")]
    [InlineData("Content-Type, Cookie, Expires")]
    public async Task HostileNominations_NeverThrow(string connection)
    {
        var request = await ApplyAsync(connection, ("X-Kept", "yes"));

        Assert.True(request.Headers.Contains("X-Kept"));
    }

    [Fact]
    public async Task TrailerAndXOriginalHeaders_AreAlwaysRemoved()
    {
        var request = await ApplyAsync(string.Empty, ("Trailer", "X-Sum"), ("X-Original-For", "6.6.6.6"), ("X-Original-Host", "evil"), ("X-Kept", "yes"));

        Assert.False(request.Headers.Contains("Trailer"));
        Assert.False(request.Headers.Contains("X-Original-For"));
        Assert.False(request.Headers.Contains("X-Original-Host"));
        Assert.True(request.Headers.Contains("X-Kept"));
    }
}

public sealed class FuzzFoundMessagesTests
{
    [Fact]
    public void ObjectWhereTextBelongs_NamesTheBlock_InsteadOfTheBindersPathlessMessage()
    {
        // Found by the config fuzz: "ClusterId": { "nested": 1 } made the binder say only "Cannot create instance of type 'System.String'".
        var config = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:r1:ClusterId:nested"] = "1",
            ["ReverseProxy:Routes:r1:Match:Path"] = "/x",
            ["ReverseProxy:Clusters:c1:Destinations:d1:Address"] = "http://127.0.0.1:1/",
        }).Build();
        var errors = new List<string>();

        Gateway.Configuration.ProxyConfigReader.Read(config, [], errors);

        Assert.Equal("ReverseProxy:Routes:r1:ClusterId: must be a single value, not an object or a list", Assert.Single(errors));
    }
}
