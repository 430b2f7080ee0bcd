using System.Net;
using Gateway.Discovery;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Tests.Discovery;

/// <summary>The resolver's decisions with a scripted lookup (the real one is tested against dnsmasq in the functional tests).</summary>
public sealed class DnsEndpointResolverUnitTests
{
    private static readonly DnsResolverOptions Options = new()
    {
        MinRefreshInterval = TimeSpan.FromSeconds(1),
        InitialRetryDelay = TimeSpan.FromSeconds(1),
        RetryJitter = 0,
    };

    [Fact]
    public async Task ASuccess_PublishesOnceAndWaitsTheTtl_AFailureKeepsTheSetAndBacksOffUpToTheInterval()
    {
        var lookup = new ScriptedLookup();
        var updates = new List<DiscoveryUpdate>();
        var resolver = new DnsEndpointResolver(new DnsDiscoveryTarget("orders", 8080, RefreshInterval: TimeSpan.FromSeconds(5)), lookup, updates.Add,
            TimeProvider.System, NullLogger.Instance, Options);

        lookup.Next = () => new DnsLookupResult([IPAddress.Parse("10.0.0.6"), IPAddress.Parse("10.0.0.5")], TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(2), await resolver.RefreshAsync(CancellationToken.None));
        Assert.Equal(TimeSpan.FromSeconds(2), await resolver.RefreshAsync(CancellationToken.None)); // the same set: nothing published
        var first = Assert.Single(updates);
        Assert.Equal(["10.0.0.5:8080", "10.0.0.6:8080"], first.Endpoints.Select(e => e.Id));

        lookup.Next = () => throw new DnsLookupException("A orders: 127.0.0.1:53: ServerFailure");
        Assert.Equal(TimeSpan.FromSeconds(1), await resolver.RefreshAsync(CancellationToken.None));
        Assert.Equal(TimeSpan.FromSeconds(2), await resolver.RefreshAsync(CancellationToken.None));
        Assert.Equal(TimeSpan.FromSeconds(4), await resolver.RefreshAsync(CancellationToken.None));
        Assert.Equal(TimeSpan.FromSeconds(5), await resolver.RefreshAsync(CancellationToken.None)); // capped at the interval
        lookup.Next = () => new DnsLookupResult([], null, "NXDOMAIN");
        Assert.Equal(TimeSpan.FromSeconds(5), await resolver.RefreshAsync(CancellationToken.None));

        Assert.Same(first.Endpoints, resolver.Current);
        var status = resolver.Status;
        Assert.Equal((1L, 5L, 5, "orders: NXDOMAIN"), (status.UpdatesApplied, status.UpdatesFailed, status.ConsecutiveFailures, status.LastError));

        lookup.Next = () => new DnsLookupResult([IPAddress.Parse("10.0.0.7")], null);
        Assert.Equal(TimeSpan.FromSeconds(5), await resolver.RefreshAsync(CancellationToken.None)); // no TTL: the interval
        Assert.Equal(2, updates.Count);
        Assert.Equal(("dns refresh", 0), (updates[1].Reason, resolver.Status.ConsecutiveFailures));
        Assert.Equal(8, resolver.Lookups);
    }

    [Fact]
    public async Task ACallbackThatThrows_DoesNotStopTheResolver()
    {
        var lookup = new ScriptedLookup { Next = () => new DnsLookupResult([IPAddress.Loopback], TimeSpan.FromSeconds(30)) };
        var resolver = new DnsEndpointResolver(new DnsDiscoveryTarget("orders", 80), lookup, _ => throw new InvalidOperationException("boom"),
            TimeProvider.System, NullLogger.Instance, Options);

        Assert.Equal(DnsDiscoveryTarget.DefaultRefreshInterval, await resolver.RefreshAsync(CancellationToken.None));

        Assert.Equal(1, resolver.Status.EndpointCount);
    }

    [Theory]
    [InlineData(5.0, null, 1.0, 5.0)]
    [InlineData(5.0, 2.0, 1.0, 2.0)]
    [InlineData(5.0, 0.0, 1.0, 1.0)] // TTL 0: not a hot loop
    [InlineData(5.0, 30.0, 1.0, 5.0)]
    [InlineData(0.5, 0.0, 1.0, 0.5)] // an interval under the minimum wins
    public void NextRefresh_IsTheIntervalOrTheShorterTtl_NotUnderTheMinimum(double interval, double? ttl, double minimum, double expected) =>
        Assert.Equal(
            TimeSpan.FromSeconds(expected),
            DnsEndpointResolver.NextRefresh(TimeSpan.FromSeconds(interval), ttl is null ? null : TimeSpan.FromSeconds(ttl.Value), TimeSpan.FromSeconds(minimum)));

    [Fact]
    public void Backoff_Doubles_UpToTheCap_AndJitterOnlyShortensIt()
    {
        var delays = Enumerable.Range(0, 8).Select(f => Backoff.Delay(f, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)).TotalSeconds);
        Assert.Equal([0, 1, 2, 4, 8, 16, 30, 30], delays);
        Assert.Equal(TimeSpan.FromSeconds(30), Backoff.Delay(1000, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)));
        for (var i = 0; i < 100; i++)
        {
            Assert.InRange(Backoff.Delay(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), jitter: 0.2).TotalSeconds, 3.2, 4);
        }
    }

    private sealed class ScriptedLookup : IDnsLookup
    {
        public Func<DnsLookupResult> Next { get; set; } = () => throw new InvalidOperationException("no script");

        public Task<DnsLookupResult> LookupAsync(string name, CancellationToken cancellationToken) => Task.FromResult(Next());
    }
}
