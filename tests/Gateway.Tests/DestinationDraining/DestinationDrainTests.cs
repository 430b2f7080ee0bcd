using Gateway.DestinationDraining;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Tests.DestinationDraining;

public sealed class DestinationDrainTests
{
    [Fact]
    public void DrainMarks_AreCaseInsensitive_AndReplaceAllPublishesTheSharedSet()
    {
        var drain = new DestinationDrain(NullLogger<DestinationDrain>.Instance);
        Assert.False(drain.AnyDraining);
        Assert.True(drain.Set(new DrainMark("Backend", "D1"), true, "test"));
        Assert.False(drain.Set(new DrainMark("backend", "d1"), true, "test"));
        Assert.True(drain.IsDraining("BACKEND", "d1"));
        drain.ReplaceAll([new DrainMark("backend", "d2")], "test");
        Assert.False(drain.IsDraining("backend", "d1"));
        Assert.True(drain.IsDraining("backend", "d2"));
        drain.ReplaceAll([], "test");
        Assert.False(drain.AnyDraining);
    }
}
