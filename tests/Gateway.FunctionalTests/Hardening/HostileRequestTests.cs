using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Hardening;

/// <summary>One gateway in front of a raw recording upstream, shared by every corpus case (cases run one at a time).</summary>
public sealed class HostileGatewayFixture : IAsyncLifetime
{
    public RawUpstream Upstream { get; } = RawUpstream.Start();

    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var config = GatewayConfig.SingleCluster("raw", ("d1", Upstream.Url));
        config.Set("ReverseProxy:Routes:all:Match:Path", "/api/{**rest}");
        Gateway = await GatewayProcess.StartAsync(config.ToJson(), new Dictionary<string, string>
        {
            ["Gateway__Admin__Token"] = HostileRequestTests.AdminToken,
        });
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

public sealed class HostileRequestTests(HostileGatewayFixture fixture, ITestOutputHelper output) : IClassFixture<HostileGatewayFixture>
{
    public const string AdminToken = "corpus-admin-token-0123456789";

    private const string Sentinel = "GET /api/sentinel HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n";
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in HostileRequestCorpus.Cases)
        {
            data.Add(c.Name);
        }

        return data;
    }

    [Fact]
    public void Corpus_HasAtLeastFortyCases() => Assert.True(HostileRequestCorpus.Cases.Count >= 40, $"{HostileRequestCorpus.Cases.Count} cases");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task HostileRequest_IsRejectedOrForwardedClean_AndNeverDesyncsTheConnection(string name)
    {
        var hostile = HostileRequestCorpus.Find(name);
        var upstream = fixture.Upstream;

        // An earlier aborted case may still be finishing upstream (its body read ends when the gateway gives up);
        // wait for it so its record does not land in this case.
        await Wait.UntilAsync(() => upstream.RequestsInProgress == 0, TimeSpan.FromSeconds(30), "the previous case's upstream request to end");
        upstream.Requests.Clear();

        using var client = await RawHttpClient.ConnectAsync(fixture.Gateway.ProxyPort);
        await client.SendAsync(hostile.Request);
        var exchange = await client.ReadAsync(hostile.ExpectedResponses, ReadTimeout);
        var caseCount = exchange.Responses.Count;

        // A clean request on the same connection: if the hostile bytes left anything behind in the gateway's parser,
        // this "victim" request would be merged with it, answered twice, or forwarded dirty.
        if (!exchange.ClosedByServer)
        {
            await client.SendAsync(Sentinel);
            exchange = await client.ReadAsync(int.MaxValue, ReadTimeout);
        }

        var seen = upstream.Requests.ToList();
        output.WriteLine($"{name}: {exchange}");
        foreach (var request in seen)
        {
            output.WriteLine($"upstream got: {request.Head.Replace("\r\n", " | ")} [body {request.Body.Length} bytes, {request.FramingError ?? "complete"}]");
        }

        var caseResponses = exchange.Responses.Take(caseCount).ToList();
        var forwarded = seen.Where(r => r.Target != "/api/sentinel").ToList();
        var sentinels = seen.Where(r => r.Target == "/api/sentinel").ToList();

        // 505 is HTTP's answer to an unknown version; every other 5xx would mean the gateway broke something upstream.
        Assert.All(exchange.Responses, r => Assert.True(r.Status < 500 || r.Status == 505, $"gateway answered {r.Status}: {r.Head}"));
        Assert.True(exchange.Responses.Count <= caseCount + 1, $"more responses than requests: {exchange}");
        if (exchange.Responses.Count == caseCount + 1)
        {
            // The sentinel is answered last, exactly once, and reaches the upstream as its own clean request.
            Assert.Equal(200, exchange.Responses[^1].Status);
            Assert.Single(sentinels);
        }
        else
        {
            Assert.Empty(sentinels);
            Assert.True(exchange.ClosedByServer, "the gateway neither answered the sentinel nor closed the connection");
        }

        foreach (var request in seen)
        {
            var problems = request.Problems();
            if (hostile.Expect == Expect.Aborted && request.FramingError?.StartsWith("connection closed inside", StringComparison.Ordinal) == true)
            {
                problems.RemoveAll(p => p.StartsWith("framing: connection closed inside", StringComparison.Ordinal));
            }

            Assert.True(problems.Count == 0, $"upstream got an unclean request: {string.Join("; ", problems)}\n{request.Head}");
            Assert.DoesNotContain("smuggled", request.Target, StringComparison.OrdinalIgnoreCase);
            Assert.Equal("127.0.0.1", request.Value("X-Forwarded-For"));
            Assert.Null(request.Value("Forwarded"));
        }

        switch (hostile.Expect)
        {
            case Expect.Rejected:
            case Expect.Aborted:
                Assert.All(caseResponses, r => Assert.True(r.Status is >= 400 and < 500 or 505, $"status {r.Status}"));
                Assert.True(caseResponses.Count > 0 || exchange.ClosedByServer, "neither a 4xx nor a closed connection");
                Assert.All(caseResponses, r => Assert.DoesNotContain("# TYPE", r.Body));
                if (hostile.Expect == Expect.Rejected)
                {
                    Assert.Empty(forwarded);
                }
                else
                {
                    Assert.All(forwarded, r => Assert.StartsWith("connection closed inside", r.FramingError));
                }

                break;
            case Expect.Forwarded:
                Assert.Equal(hostile.Forwarded, forwarded.Count);
                Assert.Equal(hostile.Forwarded, caseResponses.Count(r => r.Status == 200 && r.Body == "ok"));
                hostile.Check?.Invoke(forwarded);
                break;
        }
    }
}
