using System.Net;
using Gateway.Discovery;
using Gateway.TestSupport;

namespace Gateway.Tests.Discovery;

/// <summary>
/// <see cref="DnsEndpointResolver"/> (compiled into this project; see the csproj) asking a real dnsmasq on loopback with its own
/// RFC 1035 client: records become endpoints, changes are seen within the TTL, truncated answers go over TCP, an outage or a
/// vanished name keeps the last set; and the system-resolver path.
/// </summary>
public sealed class DnsEndpointResolverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Name = "orders.shop.svc.cluster.local";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly UpdateRecorder _recorder = new();
    private RecordingLogger _logger = null!;
    private DnsEndpointResolver? _resolver;

    private static DnsResolverOptions Fast => new()
    {
        MinRefreshInterval = TimeSpan.FromMilliseconds(200),
        QueryTimeout = TimeSpan.FromMilliseconds(500),
        InitialRetryDelay = TimeSpan.FromMilliseconds(100),
    };

    public Task InitializeAsync()
    {
        _logger = new RecordingLogger(output);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_resolver is not null)
        {
            await _resolver.DisposeAsync();
            output.WriteLine($"status: {_resolver.Status}; lookups: {_resolver.Lookups}");
        }
    }

    [Fact]
    public async Task EveryRecord_BecomesAReadyEndpoint_WithIdIpPort()
    {
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]>
        {
            [Name] = ["127.0.0.3", "127.0.0.2", "127.0.0.4"],
            ["payments.shop.svc.cluster.local"] = ["127.0.0.9"],
        });
        var resolver = Start(new DnsDiscoveryTarget(Name, 8080), dns);

        var update = await _recorder.WaitForAsync(e => e.Count > 0, "the first set");

        Assert.Equal("initial lookup", update.Reason);
        Assert.Equal(
            [
                new DiscoveredEndpoint("127.0.0.2:8080", "http://127.0.0.2:8080", EndpointCondition.Ready, "dns"),
                new DiscoveredEndpoint("127.0.0.3:8080", "http://127.0.0.3:8080", EndpointCondition.Ready, "dns"),
                new DiscoveredEndpoint("127.0.0.4:8080", "http://127.0.0.4:8080", EndpointCondition.Ready, "dns"),
            ],
            update.Endpoints);
        Assert.Equal([IPEndPoint.Parse(dns.Endpoint)], resolver.Servers);
        Assert.Equal(("dns", $"{Name}:8080", true, 3), (resolver.Status.Source, resolver.Status.Target, resolver.Status.HasSynced, resolver.Status.EndpointCount));
    }

    [Fact]
    public async Task AResolverThatRefusesAaaa_ForANameWithOnlyARecords_StillYieldsTheAddresses()
    {
        // Found trying the gateway against a plain dnsmasq: it answers A and REFUSES the AAAA question.
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]> { [Name] = ["127.0.0.2", "127.0.0.3"] }, localDomain: false);
        var lookup = new DnsServerLookup([IPEndPoint.Parse(dns.Endpoint)], TimeProvider.System, TimeSpan.FromSeconds(2));
        await Assert.ThrowsAsync<DnsLookupException>(() => lookup.QueryAsync(Name, DnsRecordType.Aaaa, CancellationToken.None));

        var result = await lookup.LookupAsync(Name, CancellationToken.None);

        Assert.Equal(["127.0.0.2", "127.0.0.3"], result.Addresses.Select(a => a.ToString()).Order());
        Assert.StartsWith("partial: Aaaa", result.Note, StringComparison.Ordinal);
        await Assert.ThrowsAsync<DnsLookupException>(() => lookup.LookupAsync("nothing.shop.svc.cluster.local", CancellationToken.None));
    }

    [Fact]
    public async Task AChange_IsSeenWithinTheTtl_EvenWithALongRefreshInterval()
    {
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]> { [Name] = ["127.0.0.2", "127.0.0.3"] });
        // 60 s between lookups, but dnsmasq hands out 1 s TTLs: the resolver looks again when the records expire.
        var resolver = Start(new DnsDiscoveryTarget(Name, 8080, RefreshInterval: TimeSpan.FromSeconds(60)), dns);
        await _recorder.WaitForAsync(e => e.Count == 2, "the first set");

        await dns.SetRecordsAsync(Name, "127.0.0.3", "127.0.0.4", "127.0.0.5");
        var started = System.Diagnostics.Stopwatch.StartNew();
        var changed = await _recorder.WaitForAsync(e => e.Count == 3, "the changed set");

        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"took {started.Elapsed}");
        Assert.Equal("dns refresh", changed.Reason);
        Assert.Equal(["127.0.0.3:8080", "127.0.0.4:8080", "127.0.0.5:8080"], changed.Endpoints.Select(e => e.Id));
        Assert.Equal(2, resolver.Status.UpdatesApplied);
        Assert.Equal(0, resolver.Status.UpdatesFailed);
    }

    [Fact]
    public async Task ServerDown_KeepsTheLastSet_CountsFailures_AndRecoversByItself()
    {
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]> { [Name] = ["127.0.0.2", "127.0.0.3"] });
        var resolver = Start(new DnsDiscoveryTarget(Name, 8080, RefreshInterval: TimeSpan.FromSeconds(1)), dns);
        var first = await _recorder.WaitForAsync(e => e.Count == 2, "the first set");

        await dns.StopAsync();
        await Wait.UntilAsync(() => resolver.Status.ConsecutiveFailures >= 3, Timeout, "three failed lookups");
        Assert.Same(first.Endpoints, resolver.Current);
        Assert.Single(_recorder.Updates);
        Assert.Contains(dns.Endpoint, resolver.Status.LastError, StringComparison.Ordinal);

        await dns.SetRecordsAsync(Name, "127.0.0.4");
        await dns.StartAsync();
        var recovered = await _recorder.WaitForAsync(e => e.Count == 1, "the set after the outage");
        Assert.Equal("127.0.0.4:8080", recovered.Endpoints[0].Id);
        Assert.Equal(0, resolver.Status.ConsecutiveFailures);
        Assert.True(resolver.Status.UpdatesFailed >= 3);
        Assert.Equal(1, _logger.Count(9203));
    }

    [Fact]
    public async Task ANameThatVanishes_NxDomain_KeepsTheLastSet()
    {
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]> { [Name] = ["127.0.0.2"] });
        var resolver = Start(new DnsDiscoveryTarget(Name, 8080, RefreshInterval: TimeSpan.FromSeconds(1)), dns);
        var first = await _recorder.WaitForAsync(e => e.Count == 1, "the first set");

        await dns.SetRecordsAsync(Name);
        await Wait.UntilAsync(() => resolver.Status.ConsecutiveFailures >= 2, Timeout, "lookups answered NXDOMAIN");

        Assert.Same(first.Endpoints, resolver.Current);
        Assert.Equal($"{Name}: NXDOMAIN", resolver.Status.LastError);
    }

    [Fact]
    public async Task AaaaRecords_AreEndpointsToo_WithBracketedIds()
    {
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]> { [Name] = ["127.0.0.2", "fd00::5"] });
        Start(new DnsDiscoveryTarget(Name, 8443, Scheme: "https"), dns);

        var update = await _recorder.WaitForAsync(e => e.Count == 2, "both families");

        Assert.Equal(["127.0.0.2:8443", "[fd00::5]:8443"], update.Endpoints.Select(e => e.Id));
        Assert.Equal("https://[fd00::5]:8443", update.Endpoints[1].Address);
    }

    [Fact]
    public async Task ATruncatedUdpAnswer_IsAskedAgainOverTcp()
    {
        // 40 A records do not fit dnsmasq's 512-byte UDP answer to a query without EDNS: it sets TC, the resolver retries over TCP.
        var addresses = Enumerable.Range(1, 40).Select(i => $"127.0.1.{i}").ToArray();
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]> { [Name] = addresses });
        var lookup = new DnsServerLookup([IPEndPoint.Parse(dns.Endpoint)], TimeProvider.System, TimeSpan.FromSeconds(2));

        var result = await lookup.LookupAsync(Name, CancellationToken.None);

        Assert.Equal(addresses.Order(), result.Addresses.Select(a => a.ToString()).Order());
        // The UDP answer alone really is truncated (and shorter).
        using var udp = new System.Net.Sockets.UdpClient();
        udp.Connect(IPEndPoint.Parse(dns.Endpoint));
        await udp.SendAsync(DnsMessage.BuildQuery(7, Name, DnsRecordType.A));
        var datagram = await udp.ReceiveAsync().WaitAsync(Timeout);
        var udpAnswer = DnsMessage.ParseResponse(datagram.Buffer, 7, Name, DnsRecordType.A);
        Assert.True(udpAnswer.Truncated);
        Assert.True(udpAnswer.Addresses.Count < addresses.Length, $"{udpAnswer.Addresses.Count} records over UDP");
        Assert.Contains(dns.Output.Split('\n'), l => l.Contains("query[A] " + Name, StringComparison.Ordinal));
        Assert.Equal(TimeSpan.FromSeconds(1), result.Ttl);
    }

    [Fact]
    public async Task SeveralServers_AreTriedInOrder_ADeadOneIsSkipped()
    {
        await using var dns = await DnsmasqServer.StartAsync(new Dictionary<string, string[]> { [Name] = ["127.0.0.2"] });
        await using var dead = await DnsmasqServer.StartAsync();
        await dead.StopAsync();
        var lookup = new DnsServerLookup([IPEndPoint.Parse(dead.Endpoint), IPEndPoint.Parse(dns.Endpoint)], TimeProvider.System, TimeSpan.FromMilliseconds(500));

        var result = await lookup.LookupAsync(Name, CancellationToken.None);

        Assert.Equal("127.0.0.2", Assert.Single(result.Addresses).ToString());
    }

    [Fact]
    public async Task WithoutServers_TheSystemResolverIsUsed()
    {
        // localhost comes from /etc/hosts: no packet leaves the machine.
        var resolver = new DnsEndpointResolver(new DnsDiscoveryTarget("localhost", 8080), servers: null, _recorder.Callback, TimeProvider.System, _logger, Fast);
        _resolver = resolver;
        resolver.Start();

        var update = await _recorder.WaitForAsync(e => e.Count > 0, "localhost's addresses");

        Assert.Empty(resolver.Servers);
        Assert.Contains(update.Endpoints, e => e.Id == "127.0.0.1:8080");
        Assert.All(update.Endpoints, e => Assert.True(IPAddress.IsLoopback(IPEndPoint.Parse(e.Id).Address), e.Id));
    }

    private DnsEndpointResolver Start(DnsDiscoveryTarget target, DnsmasqServer dns)
    {
        _resolver = new DnsEndpointResolver(target, [dns.Endpoint], _recorder.Callback, TimeProvider.System, _logger, Fast);
        _resolver.Start();
        return _resolver;
    }
}
