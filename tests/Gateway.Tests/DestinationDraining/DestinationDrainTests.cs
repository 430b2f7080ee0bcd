using Gateway.DestinationDraining;
using Gateway.Foundation;
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

    [Fact]
    public void ASourcesMarks_AddToTheAdminMarks_AndAnAdminUndrainLeavesThemAlone()
    {
        var source = new FakeSource();
        source.Set(("backend", "pod-a"));
        var drain = new DestinationDrain([source], NullLogger<DestinationDrain>.Instance);
        Assert.True(drain.IsDraining("backend", "pod-a"));

        drain.Set(new DrainMark("backend", "pod-b"), true, "test");
        drain.Set(new DrainMark("backend", "pod-a"), false, "test");
        Assert.True(drain.IsDraining("backend", "pod-a"));
        Assert.True(drain.IsDraining("backend", "pod-b"));
        Assert.Equal([new DrainMark("backend", "pod-b")], drain.Marks);

        source.Set();
        Assert.False(drain.IsDraining("backend", "pod-a"));
        Assert.True(drain.IsDraining("backend", "pod-b"));

        // A shared-state resync replaces the admin marks only.
        drain.ReplaceAll([], "test");
        source.Set(("backend", "pod-c"));
        Assert.True(drain.TryGetDraining("BACKEND", out var draining));
        Assert.Equal(["pod-c"], draining);
    }

    private sealed class FakeSource : IDestinationDrainSource
    {
        public string Name => "fake";

        public IReadOnlyCollection<(string ClusterId, string DestinationId)> Draining { get; private set; } = [];

        public event Action? Changed;

        public void Set(params (string, string)[] draining)
        {
            Draining = draining;
            Changed?.Invoke();
        }
    }
}
