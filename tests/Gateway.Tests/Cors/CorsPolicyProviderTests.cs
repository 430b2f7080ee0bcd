using System.Text.Json.Nodes;
using Gateway.Tests.Authentication;
using Microsoft.AspNetCore.Cors;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Cors;

public sealed class CorsPolicyProviderTests
{
    [Fact]
    public async Task TheDefaultPolicy_IsForRoutesOfYarpsDefault_NotForRoutesWithoutACorsPolicy()
    {
        await using var gateway = TestGateway.Start(EdgePolicyConfigTests.Valid()
            .Set("Gateway:Cors:Policies:Default", JsonNode.Parse("""{ "AllowedOrigins": ["https://default.example.com"] }""")));
        var provider = gateway.Get<ICorsPolicyProvider>();

        var withDefault = Context(new EnableCorsAttribute());
        Assert.Equal(["https://default.example.com"], (await provider.GetPolicyAsync(withDefault, null))!.Origins);
        Assert.Null(await provider.GetPolicyAsync(Context(), null));                     // no CorsPolicy: left to the upstream
        Assert.Null(await provider.GetPolicyAsync(withDefault, "Default"));              // YARP reserves the name
        Assert.Equal(["https://app.example.com", "https://*.example.org"], (await provider.GetPolicyAsync(withDefault, "web"))!.Origins);
        Assert.True((await provider.GetPolicyAsync(withDefault, "web"))!.SupportsCredentials);
        Assert.Empty((await provider.GetPolicyAsync(withDefault, "not-yet-applied"))!.Origins); // fails closed
    }

    private static DefaultHttpContext Context(params object[] metadata)
    {
        var context = new DefaultHttpContext();
        context.SetEndpoint(new Endpoint(_ => Task.CompletedTask, new EndpointMetadataCollection(metadata), "route"));
        return context;
    }
}
