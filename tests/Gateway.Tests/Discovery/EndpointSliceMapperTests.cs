using Gateway.Discovery;
using k8s.Models;

namespace Gateway.Tests.Discovery;

public sealed class EndpointSliceMapperTests
{
    private static readonly KubernetesDiscoveryTarget Http = new("shop", "orders", "http");

    [Theory]
    [InlineData(true, true, false, "Ready")]
    [InlineData(null, null, null, "Ready")] // nil ready means ready
    [InlineData(false, false, false, "NotReady")]
    [InlineData(false, null, null, "NotReady")] // nil serving follows ready
    [InlineData(false, true, true, "Draining")]
    [InlineData(null, true, true, "Draining")]
    [InlineData(false, false, true, "NotReady")]
    [InlineData(false, null, true, "NotReady")]
    public void Conditions(bool? ready, bool? serving, bool? terminating, string expected) =>
        Assert.Equal(Enum.Parse<EndpointCondition>(expected), EndpointSliceMapper.ConditionOf(new V1EndpointConditions { Ready = ready, Serving = serving, Terminating = terminating }));

    [Fact]
    public void NoConditionsAtAll_IsReady() => Assert.Equal(EndpointCondition.Ready, EndpointSliceMapper.ConditionOf(null));

    [Fact]
    public void Slices_AreMerged_OneEndpointPerAddress_OnTheMatchingPort()
    {
        var mapping = EndpointSliceMapper.Map(
            [
                Slice("b", [Endpoint("10.0.0.6", "pod-2")], ("http", 8080)),
                Slice("a", [Endpoint("10.0.0.5", "pod-1"), Endpoint("10.0.0.7", "pod-3", ready: false)], ("metrics", 9090), ("http", 8080)),
            ],
            Http);

        Assert.Null(mapping.Error);
        Assert.Equal(2, mapping.SliceCount);
        Assert.Equal(
            [
                new DiscoveredEndpoint("pod-1", "http://10.0.0.5:8080", EndpointCondition.Ready, "kubernetes"),
                new DiscoveredEndpoint("pod-2", "http://10.0.0.6:8080", EndpointCondition.Ready, "kubernetes"),
                new DiscoveredEndpoint("pod-3", "http://10.0.0.7:8080", EndpointCondition.NotReady, "kubernetes"),
            ],
            mapping.Endpoints);
    }

    [Fact]
    public void AnEndpointInTwoSlices_IsListedOnce_WithItsBestCondition()
    {
        var mapping = EndpointSliceMapper.Map(
            [
                Slice("old", [Endpoint("10.0.0.5", "pod-1", ready: false, serving: true, terminating: true)], ("http", 8080)),
                Slice("new", [Endpoint("10.0.0.5", "pod-1")], ("http", 8080)),
            ],
            Http);

        Assert.Equal(EndpointCondition.Ready, Assert.Single(mapping.Endpoints).Condition);
    }

    [Fact]
    public void ADualStackPod_GetsOneIdPerAddress_AndAnEndpointWithoutAPod_IsIdentifiedByHostPort()
    {
        var v6 = Slice("v6", [Endpoint("fd00::5", "pod-1")], ("http", 8080));
        v6.AddressType = "IPv6";
        var mapping = EndpointSliceMapper.Map(
            [Slice("v4", [Endpoint("10.0.0.5", "pod-1"), Endpoint("10.0.0.9", pod: null)], ("http", 8080)), v6],
            Http);

        Assert.Equal(["10.0.0.9:8080", "pod-1@10.0.0.5:8080", "pod-1@[fd00::5]:8080"], mapping.Endpoints.Select(e => e.Id));
        Assert.Equal("http://[fd00::5]:8080", mapping.Endpoints[2].Address);
    }

    [Fact]
    public void APortGivenAsANumber_MatchesTheNumber_AndAnUnnamedPortToo()
    {
        var mapping = EndpointSliceMapper.Map([Slice("a", [Endpoint("10.0.0.5", "pod-1")], (null, 8080))], new KubernetesDiscoveryTarget("shop", "orders", "8080", "https"));

        Assert.Equal("https://10.0.0.5:8080", Assert.Single(mapping.Endpoints).Address);
    }

    [Fact]
    public void APortNoSliceHas_IsAnError_NotAnEmptySet()
    {
        var mapping = EndpointSliceMapper.Map([Slice("a", [Endpoint("10.0.0.5", "pod-1"), Endpoint("10.0.0.6", "pod-2")], ("web", 8080), (null, 9090))], Http);

        Assert.Empty(mapping.Endpoints);
        Assert.Equal("service shop/orders has no port named 'http' (its EndpointSlices have: 9090, web=8080); 2 endpoints left out, the set is not applied", mapping.Error);
    }

    [Fact]
    public void SlicesWithoutEndpoints_AreALegitimatelyEmptySet()
    {
        // A Service scaled to zero keeps a slice with no endpoints and no ports.
        var mapping = EndpointSliceMapper.Map([new V1EndpointSlice { Metadata = new V1ObjectMeta { Name = "a" }, AddressType = "IPv4", Endpoints = [] }], Http);

        Assert.Null(mapping.Error);
        Assert.Empty(mapping.Endpoints);
        Assert.Equal(1, mapping.SliceCount);
    }

    [Fact]
    public void OneSliceWithoutThePort_DoesNotSpoilTheOthers()
    {
        var mapping = EndpointSliceMapper.Map(
            [Slice("a", [Endpoint("10.0.0.5", "pod-1")], ("http", 8080)), Slice("b", [Endpoint("10.0.0.6", "pod-2")], ("web", 8080))],
            Http);

        Assert.Null(mapping.Error);
        Assert.Equal("pod-1", Assert.Single(mapping.Endpoints).Id);
    }

    private static V1EndpointSlice Slice(string name, IList<V1Endpoint> endpoints, params (string? Name, int Port)[] ports) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop" },
        AddressType = "IPv4",
        Endpoints = endpoints,
        Ports = ports.Select(p => new Discoveryv1EndpointPort { Name = p.Name, Port = p.Port, Protocol = "TCP" }).ToList(),
    };

    private static V1Endpoint Endpoint(string address, string? pod, bool? ready = true, bool? serving = null, bool? terminating = false) => new()
    {
        Addresses = [address],
        Conditions = new V1EndpointConditions { Ready = ready, Serving = serving ?? ready, Terminating = terminating },
        TargetRef = pod is null ? null : new V1ObjectReference { Kind = "Pod", Name = pod, NamespaceProperty = "shop" },
    };
}
