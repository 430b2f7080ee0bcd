using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;
using static Gateway.TestSupport.EndpointSliceJson;

namespace Gateway.FunctionalTests.Discovery;

/// <summary>
/// Keeps <see cref="FakeKubernetesApi"/> honest: the real kubectl, with a generated kubeconfig, lists and watches what the fixture holds.
/// If kubectl accepts the fixture's discovery documents, lists, tables, watch streams and errors, a client tested against it is tested
/// against the wire protocol, not against the fixture author's reading of it.
/// </summary>
public sealed class KubernetesFixtureTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan KubectlTimeout = TimeSpan.FromSeconds(60);
    private readonly string _directory = Directory.CreateTempSubdirectory("gateway-k8s-fixture-").FullName;
    private FakeKubernetesApi _api = null!;
    private Kubectl _kubectl = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _kubectl = new Kubectl(_api.WriteKubeConfig(_directory));
        _api.Upsert(Slice("orders-7x2kq", "orders", [Ready("10.1.0.5", "orders-5d9f-abcde"), Ready("10.1.0.6", "orders-5d9f-fghij")], [Port("http", 8080)]));
        _api.Upsert(Slice("orders-9mzt4", "orders", [Terminating("10.1.0.7", "orders-5d9f-klmno")], [Port("http", 8080)]));
        _api.Upsert(Slice("payments-abcde", "payments", [Ready("10.1.1.5", "payments-1")], [Port("http", 8080)]));
        _api.Upsert(Slice("orders-qa111", "orders", [Endpoint("10.2.0.5", "orders-qa-1", ns: "qa")], [Port("http", 8080)], ns: "qa"));
    }

    public async Task DisposeAsync()
    {
        foreach (var request in _api.Requests)
        {
            output.WriteLine(request.ToString());
        }

        _kubectl.Dispose();
        await _api.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task KubectlGetJson_ListsTheSlicesOfTheServiceInTheNamespace()
    {
        var (exit, stdout, stderr) = await _kubectl.RunAsync(KubectlTimeout,
            "get", "endpointslices", "-n", "shop", "-l", "kubernetes.io/service-name=orders", "-o", "json");

        Assert.True(exit == 0, $"kubectl exited {exit}: {stderr}");
        using var list = JsonDocument.Parse(stdout);
        var items = list.RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["orders-7x2kq", "orders-9mzt4"], items.Select(i => i.GetProperty("metadata").GetProperty("name").GetString()).Order());
        var terminating = items.Single(i => i.GetProperty("metadata").GetProperty("name").GetString() == "orders-9mzt4")
            .GetProperty("endpoints")[0];
        Assert.Equal("orders-5d9f-klmno", terminating.GetProperty("targetRef").GetProperty("name").GetString());
        Assert.False(terminating.GetProperty("conditions").GetProperty("ready").GetBoolean());
        Assert.True(terminating.GetProperty("conditions").GetProperty("serving").GetBoolean());
        Assert.True(terminating.GetProperty("conditions").GetProperty("terminating").GetBoolean());
        Assert.Contains(_api.Requests, r => r.Path == "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"
            && r.Query.Contains("labelSelector=kubernetes.io%2Fservice-name%3Dorders", StringComparison.Ordinal) && r.Status == 200);
    }

    [Fact]
    public async Task KubectlGet_PrintsTheServersTable()
    {
        var (exit, stdout, stderr) = await _kubectl.RunAsync(KubectlTimeout,
            "get", "endpointslices", "-n", "shop", "-l", "kubernetes.io/service-name=orders");

        output.WriteLine(stdout);
        Assert.True(exit == 0, $"kubectl exited {exit}: {stderr}");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["orders-7x2kq", "IPv4", "8080", "10.1.0.5,10.1.0.6"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[..4]);
        Assert.Equal(3, lines.Length);
        // kubectl asked for the Table form, so the table came from the server, not from a client-side fallback.
        Assert.Contains(_api.Requests, r => r.Path.EndsWith("/endpointslices", StringComparison.Ordinal) && r.Accept.Contains("as=Table", StringComparison.Ordinal));
    }

    [Fact]
    public async Task KubectlGet_AllNamespaces_ByName_AndNotFound()
    {
        var all = await _kubectl.RunAsync(KubectlTimeout, "get", "endpointslices", "-A", "-l", "kubernetes.io/service-name=orders", "-o", "json");
        Assert.True(all.ExitCode == 0, all.Stderr);
        using (var list = JsonDocument.Parse(all.Stdout))
        {
            Assert.Equal(["qa/orders-qa111", "shop/orders-7x2kq", "shop/orders-9mzt4"], list.RootElement.GetProperty("items").EnumerateArray()
                .Select(i => i.GetProperty("metadata").GetProperty("namespace").GetString() + "/" + i.GetProperty("metadata").GetProperty("name").GetString())
                .Order());
        }

        var one = await _kubectl.RunAsync(KubectlTimeout, "get", "endpointslice", "payments-abcde", "-n", "shop", "-o", "json");
        Assert.True(one.ExitCode == 0, one.Stderr);
        using (var slice = JsonDocument.Parse(one.Stdout))
        {
            Assert.Equal("payments", slice.RootElement.GetProperty("metadata").GetProperty("labels").GetProperty(ServiceNameLabel).GetString());
        }

        var missing = await _kubectl.RunAsync(KubectlTimeout, "get", "endpointslice", "nope", "-n", "shop");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("endpointslices.discovery.k8s.io \"nope\" not found", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KubectlWatch_SeesTheCurrentSlices_ThenLaterChanges_AsEvents()
    {
        using var watch = _kubectl.StartWatch("get", "endpointslices", "-n", "shop", "-l", "kubernetes.io/service-name=orders",
            "--watch", "--output-watch-events", "-o", "json");
        var timeout = TimeSpan.FromSeconds(30);
        var initial = new[] { await watch.NextAsync(timeout), await watch.NextAsync(timeout) };
        Assert.All(initial, e => Assert.Equal("ADDED", e.GetProperty("type").GetString()));
        Assert.Equal(["orders-7x2kq", "orders-9mzt4"], initial.Select(Name).Order());
        await Wait.UntilAsync(() => _api.OpenWatches == 1, TimeSpan.FromSeconds(10), "kubectl's watch to be open");

        // A change to another service's slice is filtered out by the label selector; these three are not.
        _api.Upsert(Slice("payments-abcde", "payments", [Ready("10.1.1.9", "payments-2")], [Port("http", 8080)]));
        _api.Upsert(Slice("orders-9mzt4", "orders", [Ready("10.1.0.8", "orders-5d9f-pqrst")], [Port("http", 8080)]));
        _api.Upsert(Slice("orders-new01", "orders", [Ready("10.1.0.9", "orders-5d9f-uvwxy")], [Port("http", 8080)]));
        _api.Delete("orders-7x2kq");

        var modified = await watch.NextAsync(timeout);
        Assert.Equal(("MODIFIED", "orders-9mzt4"), (modified.GetProperty("type").GetString(), Name(modified)));
        Assert.Equal("orders-5d9f-pqrst", modified.GetProperty("object").GetProperty("endpoints")[0].GetProperty("targetRef").GetProperty("name").GetString());
        var added = await watch.NextAsync(timeout);
        Assert.Equal(("ADDED", "orders-new01"), (added.GetProperty("type").GetString(), Name(added)));
        var deleted = await watch.NextAsync(timeout);
        Assert.Equal(("DELETED", "orders-7x2kq"), (deleted.GetProperty("type").GetString(), Name(deleted)));
        Assert.Equal(1, _api.WatchesOpened);
    }

    [Fact]
    public async Task KubectlRawWatch_FromAnExpiredResourceVersion_GetsOneError410Event_AndTheStreamEnds()
    {
        var listed = _api.ResourceVersion;
        _api.Upsert(Slice("orders-new01", "orders", [Ready("10.1.0.9", "orders-5d9f-uvwxy")], [Port("http", 8080)]));
        _api.ExpireHistory();

        // kubectl get has no flag for a watch's resourceVersion; --raw sends the exact request a client would and prints the body.
        var (exit, stdout, stderr) = await _kubectl.RunAsync(KubectlTimeout, "get", "--raw",
            $"/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices?watch=true&resourceVersion={listed}&allowWatchBookmarks=true");

        Assert.True(exit == 0, $"kubectl exited {exit}: {stderr}");
        var line = Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var error = JsonDocument.Parse(line);
        Assert.Equal("ERROR", error.RootElement.GetProperty("type").GetString());
        var status = error.RootElement.GetProperty("object");
        Assert.Equal(("Status", 410, "Expired"), (status.GetProperty("kind").GetString(), status.GetProperty("code").GetInt32(), status.GetProperty("reason").GetString()));
        Assert.Equal(1, _api.WatchesExpired);

        // An exact list from that version is gone too (HTTP 410), while the current version lists fine.
        var exact = await _kubectl.RunAsync(KubectlTimeout, "get", "--raw",
            $"/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices?resourceVersion={listed}&resourceVersionMatch=Exact");
        Assert.NotEqual(0, exact.ExitCode);
        Assert.Contains("Expired", exact.Stderr, StringComparison.Ordinal);
        var current = await _kubectl.RunAsync(KubectlTimeout, "get", "--raw",
            $"/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices?resourceVersion={_api.ResourceVersion}&resourceVersionMatch=Exact");
        Assert.True(current.ExitCode == 0, current.Stderr);
    }

    [Fact]
    public async Task KubectlRawWatch_GetsBookmarksAndEvents_AndEndsCleanlyAtTimeoutSeconds()
    {
        var from = _api.ResourceVersion;
        var started = System.Diagnostics.Stopwatch.StartNew();
        var run = _kubectl.RunAsync(KubectlTimeout, "get", "--raw",
            $"/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices?watch=true&resourceVersion={from}&allowWatchBookmarks=true&timeoutSeconds=3"
            + "&labelSelector=kubernetes.io%2Fservice-name%3Dorders");
        await Wait.UntilAsync(() => _api.OpenWatches == 1, TimeSpan.FromSeconds(20), "the raw watch to open");
        _api.AdvanceResourceVersion(5);
        _api.SendBookmark();
        _api.Upsert(Slice("orders-new01", "orders", [Ready("10.1.0.9", "orders-5d9f-uvwxy")], [Port("http", 8080)]));

        var (exit, stdout, stderr) = await run;

        Assert.True(exit == 0, $"kubectl exited {exit}: {stderr}");
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(30));
        var events = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["BOOKMARK", "ADDED"], events.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal((from + 5).ToString(System.Globalization.CultureInfo.InvariantCulture),
            events[0].GetProperty("object").GetProperty("metadata").GetProperty("resourceVersion").GetString());
        Assert.Equal("orders-new01", events[1].GetProperty("object").GetProperty("metadata").GetProperty("name").GetString());
    }

    [Fact]
    public async Task KubectlGet_WhenRbacDenies_ReportsForbidden()
    {
        _api.FailWith(403);

        var (exit, _, stderr) = await _kubectl.RunAsync(KubectlTimeout, "get", "endpointslices", "-n", "shop");

        Assert.NotEqual(0, exit);
        Assert.Contains("endpointslices.discovery.k8s.io is forbidden", stderr, StringComparison.Ordinal);
        Assert.Equal(0, _api.ListsServed);
    }

    [Fact]
    public async Task KubectlOverPlainHttp_SendsNoToken_AndIsRefused()
    {
        await using var plain = await FakeKubernetesApi.StartAsync(useTls: false);
        using var kubectl = new Kubectl(plain.WriteKubeConfig(_directory, "kubeconfig-http"));

        var (exit, _, stderr) = await kubectl.RunAsync(KubectlTimeout, "get", "endpointslices", "-n", "shop", "-o", "json");

        // Why the fixture defaults to TLS: kubectl keeps the bearer token off plain http, and the fixture, like a real server, says 401.
        Assert.NotEqual(0, exit);
        // kubectl 1.2x: "You must be logged in to the server (Unauthorized)"; 1.3x: "the server has asked for the client to provide credentials".
        Assert.True(stderr.Contains("provide credentials", StringComparison.Ordinal) || stderr.Contains("(Unauthorized)", StringComparison.Ordinal), stderr);
        Assert.NotEmpty(plain.Requests);
        Assert.All(plain.Requests, r => Assert.False(r.Authorized));
        Assert.StartsWith("https://", _api.Url, StringComparison.Ordinal);
    }

    private static string? Name(JsonElement watchEvent) => watchEvent.GetProperty("object").GetProperty("metadata").GetProperty("name").GetString();
}
