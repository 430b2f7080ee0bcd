using Gateway.Discovery;
using Yarp.ReverseProxy.Model;

namespace Gateway.Tests.Discovery;

public sealed class ClusterDiscoveryTests
{
    private static DiscoveredEndpoint Pod(string id, EndpointCondition condition = EndpointCondition.Ready) =>
        new(id, $"http://10.0.0.{id[^1] - 'a' + 1}:8080", condition, DiscoveredEndpoint.KubernetesSource);

    [Fact]
    public void ReadyAndTerminatingButServingPods_AreDestinations_NotReadyOnesAreNot_AndTerminatingOnesDrain()
    {
        var discovery = new ClusterDiscovery("orders", "settings");

        var removed = discovery.Publish([Pod("pod-a"), Pod("pod-b", EndpointCondition.Draining), Pod("pod-c", EndpointCondition.NotReady)]);

        Assert.Empty(removed);
        Assert.Equal(["pod-a", "pod-b"], discovery.Current.Destinations.Keys.Order());
        Assert.Equal("http://10.0.0.2:8080", discovery.Current.Destinations["pod-b"].Address);
        Assert.Equal(["pod-b"], discovery.Current.Draining);
        Assert.Equal(EndpointCondition.NotReady, discovery.Current.Conditions["pod-c"]);
    }

    [Fact]
    public void APodThatLeavesRotation_IsReportedRemoved_WithTheAddressItHad()
    {
        var discovery = new ClusterDiscovery("orders", "settings");
        discovery.Publish([Pod("pod-a"), Pod("pod-b")]);

        var gone = discovery.Publish([Pod("pod-a")]);
        var notReady = discovery.Publish([Pod("pod-a", EndpointCondition.NotReady)]);

        Assert.Equal([("pod-b", "http://10.0.0.2:8080")], gone);
        Assert.Equal([("pod-a", "http://10.0.0.1:8080")], notReady);
        Assert.Empty(discovery.Current.Destinations);
    }

    [Fact]
    public void APodRemovedWhileDraining_StaysDrained_UntilYarpNoLongerHasIt()
    {
        var discovery = new ClusterDiscovery("orders", "settings");
        discovery.Publish([Pod("pod-a"), Pod("pod-b", EndpointCondition.Draining)]);

        discovery.Publish([Pod("pod-a")]);

        // Until YARP applies the new set, pod-b may still be picked: it must not come back into rotation meanwhile.
        Assert.Equal(["pod-b"], discovery.Current.Draining);
        var yarpStillHasIt = new Dictionary<string, DestinationState> { ["pod-a"] = new("pod-a"), ["pod-b"] = new("pod-b") };
        Assert.False(discovery.ForgetRemoved(yarpStillHasIt));
        Assert.Equal(["pod-b"], discovery.Current.Draining);

        var applied = new Dictionary<string, DestinationState> { ["pod-a"] = new("pod-a") };
        Assert.True(discovery.ForgetRemoved(applied));
        Assert.Empty(discovery.Current.Draining);
    }

    [Fact]
    public void ADrainingPodThatIsReadyAgain_StopsDraining()
    {
        var discovery = new ClusterDiscovery("orders", "settings");
        discovery.Publish([Pod("pod-a", EndpointCondition.Draining)]);

        discovery.Publish([Pod("pod-a")]);

        Assert.Empty(discovery.Current.Draining);
        Assert.Equal(["pod-a"], discovery.Current.Destinations.Keys);
    }
}
