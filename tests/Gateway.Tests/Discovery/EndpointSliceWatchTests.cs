using Gateway.Discovery;
using k8s;

namespace Gateway.Tests.Discovery;

/// <summary>One line of the watch stream, as the API server writes it (the end-to-end watch runs against the fake API server).</summary>
public sealed class EndpointSliceWatchTests
{
    [Theory]
    [InlineData("ADDED", "Added")]
    [InlineData("MODIFIED", "Modified")]
    [InlineData("DELETED", "Deleted")]
    [InlineData("BOOKMARK", "Bookmark")]
    public void AnEvent_IsItsTypeAndSlice(string type, string expected)
    {
        var errors = new List<Exception>();
        var line = $$$"""{"type":"{{{type}}}","object":{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":"orders-abc","resourceVersion":"42"},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.7"],"conditions":{"ready":true}}],"ports":[{"name":"http","port":8080}]}}""";

        var parsed = EndpointSliceWatch.Parse(line, errors.Add);

        Assert.Empty(errors);
        var (eventType, slice) = Assert.NotNull(parsed);
        Assert.Equal(Enum.Parse<WatchEventType>(expected), eventType);
        Assert.Equal(("orders-abc", "42"), (slice.Metadata.Name, slice.Metadata.ResourceVersion));
        Assert.Equal("10.0.0.7", Assert.Single(Assert.Single(slice.Endpoints).Addresses));
        Assert.Equal(8080, Assert.Single(slice.Ports).Port);
    }

    [Fact]
    public void AnErrorEvent_IsAKubernetesExceptionWithItsStatus_NotAnEvent()
    {
        var errors = new List<Exception>();
        const string line = """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (42)","reason":"Expired","code":410}}""";

        Assert.Null(EndpointSliceWatch.Parse(line, errors.Add));

        var error = Assert.IsType<KubernetesException>(Assert.Single(errors));
        Assert.Equal(410, error.Status.Code);
    }

    [Theory]
    [InlineData("""{"type":"ADDED"}""")]
    [InlineData("""{"type":"SOMETHING","object":{}}""")]
    [InlineData("not json")]
    public void ALineThatIsNoEvent_GoesToOnError_AndTheStreamGoesOn(string line)
    {
        var errors = new List<Exception>();

        Assert.Null(EndpointSliceWatch.Parse(line, errors.Add));
        Assert.Single(errors);
    }
}
