using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.TestSupport;

/// <summary>One request the fake API server got (for asserting what a client asked, and for debugging); listed from its start.</summary>
public sealed class ApiRequest(string method, string path, string query, string accept, bool authorized)
{
    public string Method { get; } = method;

    public string Path { get; } = path;

    public string Query { get; } = query;

    public string Accept { get; } = accept;

    public bool Authorized { get; } = authorized;

    /// <summary>The response status; 0 while the request is still open (a watch).</summary>
    public int Status { get; internal set; }

    public override string ToString() =>
        $"{Method} {Path}{Query} [{Accept}]{(Authorized ? string.Empty : " (no token)")} -> {(Status == 0 ? "(open)" : Status.ToString(CultureInfo.InvariantCulture))}";
}

/// <summary>
/// A Kubernetes API server on 127.0.0.1 that serves discovery.k8s.io/v1 EndpointSlices over the real wire protocol,
/// well enough for the real kubectl and the official C# client:
/// <list type="bullet">
/// <item>discovery: <c>/version</c>, <c>/api</c>, <c>/api/v1</c>, <c>/apis</c>, <c>/apis/discovery.k8s.io</c>, <c>/apis/discovery.k8s.io/v1</c>
/// (legacy discovery; a client asking for aggregated discovery gets plain <c>application/json</c> and falls back, as with a pre-1.26 server);</item>
/// <item>list (namespaced and all namespaces) with <c>labelSelector</c> (=, ==, !=, in, notin, exists, !exists), <c>fieldSelector</c>
/// (metadata.name, metadata.namespace), <c>resourceVersion</c>/<c>resourceVersionMatch</c> semantics, and the <c>meta.k8s.io/v1</c> Table
/// form when the Accept header asks for <c>as=Table</c>; get by name;</item>
/// <item>watch (<c>?watch=true</c>): a chunked stream of newline-delimited events from after <c>resourceVersion</c> (synthetic ADDED events
/// when it is unset or "0"), label transitions turned into ADDED/DELETED as the API server's watch cache does, BOOKMARK only when
/// <c>allowWatchBookmarks=true</c>, <c>timeoutSeconds</c> honoured, and a resourceVersion older than the retained history answered with
/// HTTP 200 and an ERROR event carrying a 410 Expired Status, then the end of the stream (as the real server does).</item>
/// </list>
/// Every request needs <c>Authorization: Bearer <see cref="Token"/></c> (else 401). Test controls: <see cref="Upsert"/>, <see cref="Delete"/>,
/// <see cref="SendBookmark"/>, <see cref="ExpireHistory"/>, <see cref="DropWatches"/>, <see cref="FailWith"/> (403 RBAC denial, 404, 5xx),
/// <see cref="StopAsync"/>/<see cref="StartAsync()"/> (an outage, same port, state kept), and counters.
/// </summary>
public sealed partial class FakeKubernetesApi : IAsyncDisposable
{
    public const string Token = "fixture-token";
    private const string Group = "discovery.k8s.io";
    private const string GroupVersion = "discovery.k8s.io/v1";
    private const string ResourcePrefix = "/apis/discovery.k8s.io/v1/";

    private static readonly DateTime Epoch = DateTime.UtcNow;

    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly List<Change> _history = [];
    private readonly List<WatchSession> _watches = [];
    private readonly HashSet<string> _namespaces = new(StringComparer.Ordinal) { "default", "kube-system", "shop" };
    private readonly ConcurrentQueue<ApiRequest> _requests = new();
    private readonly X509Certificate2? _certificate;
    private long _resourceVersion = 1000;
    private long _oldestRetained = 1000;
    private int _failStatus;
    private WebApplication? _app;
    private int _listsServed;
    private int _getsServed;
    private int _watchesOpened;
    private int _watchesExpired;
    private int _bookmarksSent;

    private FakeKubernetesApi(X509Certificate2? certificate) => _certificate = certificate;

    public int Port { get; private set; }

    public bool UsesTls => _certificate is not null;

    public string Url => $"{(UsesTls ? "https" : "http")}://127.0.0.1:{Port}";

    public bool IsRunning => _app is not null;

    /// <summary>The version /version reports (the gcloud kubectl dispatcher picks its kubectl by it).</summary>
    public (int Major, int Minor) ServerVersion { get; set; } = (1, 32);

    /// <summary>The last resourceVersion assigned (the list's resourceVersion).</summary>
    public long ResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _resourceVersion;
            }
        }
    }

    public int ListsServed => Volatile.Read(ref _listsServed);

    public int GetsServed => Volatile.Read(ref _getsServed);

    /// <summary>Watch streams opened with HTTP 200 (including ones answered with an ERROR event).</summary>
    public int WatchesOpened => Volatile.Read(ref _watchesOpened);

    /// <summary>Watches answered with an ERROR 410 Expired event (resourceVersion older than the retained history).</summary>
    public int WatchesExpired => Volatile.Read(ref _watchesExpired);

    public int BookmarksSent => Volatile.Read(ref _bookmarksSent);

    public int OpenWatches
    {
        get
        {
            lock (_gate)
            {
                return _watches.Count;
            }
        }
    }

    public IReadOnlyList<ApiRequest> Requests => _requests.ToArray();

    /// <summary>
    /// Starts on a free loopback port (or <paramref name="port"/>), over TLS with an in-process self-signed certificate by default:
    /// kubectl does not send a bearer token over plain http (it asks /version and /api without credentials and gets 401), so plain http
    /// is only for clients that do (the official C# client does).
    /// </summary>
    public static async Task<FakeKubernetesApi> StartAsync(bool useTls = true, int port = 0)
    {
        var api = new FakeKubernetesApi(useTls ? CreateCertificate() : null) { Port = port };
        await api.StartAsync();
        return api;
    }

    /// <summary>Starts (again) listening, on the same port after the first start; the stored objects and history are kept.</summary>
    public async Task StartAsync()
    {
        if (_app is not null)
        {
            return;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, Port, listen =>
            {
                if (_certificate is not null)
                {
                    listen.UseHttps(_certificate);
                }
            });
        });
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync();
        Port = new Uri(app.Urls.First()).Port;
        _app = app;
    }

    /// <summary>An API server outage: open watches are cut, the port stops accepting connections.</summary>
    public async Task StopAsync()
    {
        if (_app is not { } app)
        {
            return;
        }

        _app = null;
        DropWatches();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await app.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
        }

        await app.DisposeAsync();
    }

    /// <summary>Writes a kubeconfig (server URL, bearer token, namespace shop) into <paramref name="directory"/>; returns its path.</summary>
    public string WriteKubeConfig(string directory, string fileName = "kubeconfig")
    {
        var tls = UsesTls ? "\n    insecure-skip-tls-verify: true" : string.Empty;
        var path = Path.Combine(directory, fileName);
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {Url}{tls}
            users:
            - name: fixture
              user:
                token: {Token}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: fixture
                namespace: shop
            current-context: fake

            """);
        return path;
    }

    /// <summary>Creates or replaces an EndpointSlice (namespace and name from its metadata); returns the new resourceVersion.</summary>
    public long Upsert(JsonObject slice)
    {
        var obj = (JsonObject)slice.DeepClone();
        var metadata = obj["metadata"] as JsonObject ?? throw new ArgumentException("metadata missing");
        var name = (string?)metadata["name"] ?? throw new ArgumentException("metadata.name missing");
        var ns = (string?)metadata["namespace"] ?? "default";
        metadata["namespace"] = ns;
        var key = ns + "/" + name;
        lock (_gate)
        {
            _objects.TryGetValue(key, out var old);
            var rv = ++_resourceVersion;
            metadata["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            metadata["uid"] = (string?)old?["metadata"]?["uid"] ?? EndpointSliceJson.DeterministicUid($"slice/{key}/{rv}");
            metadata["creationTimestamp"] = (string?)old?["metadata"]?["creationTimestamp"] ?? DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            metadata["generation"] = ((long?)old?["metadata"]?["generation"] ?? 0) + 1;
            _objects[key] = obj;
            _namespaces.Add(ns);
            Publish(new Change(old is null ? "ADDED" : "MODIFIED", rv, old, obj));
            return rv;
        }
    }

    /// <summary>Deletes an EndpointSlice; false if there was none.</summary>
    public bool Delete(string name, string ns = "shop")
    {
        lock (_gate)
        {
            if (!_objects.Remove(ns + "/" + name, out var old))
            {
                return false;
            }

            var rv = ++_resourceVersion;
            var final = (JsonObject)old.DeepClone();
            final["metadata"]!["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            Publish(new Change("DELETED", rv, old, final));
            return true;
        }
    }

    /// <summary>
    /// Moves the resourceVersion on without touching any EndpointSlice (as writes to other resources do on a real cluster),
    /// so that only a bookmark can tell a watcher about the newer version.
    /// </summary>
    public long AdvanceResourceVersion(int by = 1)
    {
        lock (_gate)
        {
            _resourceVersion += by;
            return _resourceVersion;
        }
    }

    /// <summary>Sends a BOOKMARK with the current resourceVersion to every open watch that allowed bookmarks.</summary>
    public void SendBookmark()
    {
        lock (_gate)
        {
            var bookmark = new JsonObject
            {
                ["type"] = "BOOKMARK",
                ["object"] = new JsonObject
                {
                    ["kind"] = "EndpointSlice",
                    ["apiVersion"] = GroupVersion,
                    ["metadata"] = new JsonObject
                    {
                        ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture),
                        ["creationTimestamp"] = null,
                    },
                    ["addressType"] = string.Empty,
                    ["endpoints"] = null,
                },
            }.ToJsonString();
            foreach (var watch in _watches.Where(w => w.Bookmarks))
            {
                watch.Events.Writer.TryWrite(bookmark);
                Interlocked.Increment(ref _bookmarksSent);
            }
        }
    }

    /// <summary>Forgets the event history (like etcd compaction): a watch or an exact list from an older resourceVersion now gets 410.</summary>
    public void ExpireHistory()
    {
        lock (_gate)
        {
            _history.Clear();
            _oldestRetained = _resourceVersion;
        }
    }

    /// <summary>Cuts every open watch stream abruptly (no terminating chunk), as a dying API server or a load balancer would.</summary>
    public void DropWatches()
    {
        lock (_gate)
        {
            foreach (var watch in _watches)
            {
                watch.Context.Abort();
                watch.Events.Writer.TryComplete();
            }

            _watches.Clear();
        }
    }

    /// <summary>
    /// Makes every EndpointSlice request (list, get, watch) answer <paramref name="statusCode"/> with a Status body
    /// (403: RBAC denial, 404: resource not served, 500/503: server trouble); null heals. Discovery keeps answering.
    /// </summary>
    public void FailWith(int? statusCode) => Volatile.Write(ref _failStatus, statusCode ?? 0);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _certificate?.Dispose();
    }

    // ---- protocol ---------------------------------------------------------------------------------------------------

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var authorized = request.Headers.Authorization.ToString() == "Bearer " + Token;
        var record = new ApiRequest(request.Method, request.Path.Value ?? string.Empty, request.QueryString.Value ?? string.Empty,
            request.Headers.Accept.ToString(), authorized);
        _requests.Enqueue(record);
        try
        {
            await RouteAsync(context, authorized);
        }
        finally
        {
            record.Status = context.Response.StatusCode;
        }
    }

    private async Task RouteAsync(HttpContext context, bool authorized)
    {
        var path = context.Request.Path.Value ?? "/";
        if (!authorized)
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        switch (path)
        {
            case "/version":
                await WriteJsonAsync(context, 200, new JsonObject
                {
                    ["major"] = ServerVersion.Major.ToString(CultureInfo.InvariantCulture),
                    ["minor"] = ServerVersion.Minor.ToString(CultureInfo.InvariantCulture),
                    ["gitVersion"] = $"v{ServerVersion.Major}.{ServerVersion.Minor}.0",
                    ["gitCommit"] = new string('0', 40),
                    ["gitTreeState"] = "clean",
                    ["buildDate"] = "2025-01-01T00:00:00Z",
                    ["goVersion"] = "go1.23.0",
                    ["compiler"] = "gc",
                    ["platform"] = "linux/amd64",
                });
                return;
            case "/api":
                await WriteJsonAsync(context, 200, new JsonObject
                {
                    ["kind"] = "APIVersions",
                    ["versions"] = new JsonArray("v1"),
                    ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = $"127.0.0.1:{Port}" }),
                });
                return;
            case "/api/v1":
                await WriteJsonAsync(context, 200, new JsonObject
                {
                    ["kind"] = "APIResourceList",
                    ["groupVersion"] = "v1",
                    ["resources"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "namespaces",
                        ["singularName"] = "namespace",
                        ["namespaced"] = false,
                        ["kind"] = "Namespace",
                        ["verbs"] = new JsonArray("get"),
                        ["shortNames"] = new JsonArray("ns"),
                    }),
                });
                return;
            case "/apis":
                await WriteJsonAsync(context, 200, new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = new JsonArray(ApiGroup()) });
                return;
            case "/apis/discovery.k8s.io":
                await WriteJsonAsync(context, 200, ApiGroup());
                return;
            case "/apis/discovery.k8s.io/v1":
                await WriteJsonAsync(context, 200, new JsonObject
                {
                    ["kind"] = "APIResourceList",
                    ["apiVersion"] = "v1",
                    ["groupVersion"] = GroupVersion,
                    ["resources"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "endpointslices",
                        ["singularName"] = "endpointslice",
                        ["namespaced"] = true,
                        ["kind"] = "EndpointSlice",
                        ["verbs"] = new JsonArray("get", "list", "watch"),
                        ["storageVersionHash"] = "Nx3SIv6I0mE=",
                    }),
                });
                return;
        }

        if (path.StartsWith("/api/v1/namespaces/", StringComparison.Ordinal) && path.Split('/') is [_, _, _, _, var namespaceName])
        {
            // kubectl looks the namespace up after a NotFound, to say which of the two is missing.
            await GetNamespaceAsync(context, namespaceName);
            return;
        }

        if (!TryParseResourcePath(path, out var ns, out var name))
        {
            context.Response.StatusCode = 404;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync("404 page not found\n");
            return;
        }

        if (!HttpMethods.IsGet(context.Request.Method))
        {
            await WriteStatusAsync(context, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
            return;
        }

        if (Volatile.Read(ref _failStatus) is var failure and not 0)
        {
            await WriteFailureAsync(context, failure, ns);
            return;
        }

        var query = context.Request.Query;
        Func<JsonObject, bool> filter;
        try
        {
            var labels = LabelSelector.Parse(query["labelSelector"]);
            var fields = ParseFieldSelector(query["fieldSelector"]);
            filter = obj => (ns is null || (string?)obj["metadata"]?["namespace"] == ns) && labels(Labels(obj)) && fields(obj);
        }
        catch (FormatException ex)
        {
            await WriteStatusAsync(context, 400, "BadRequest", ex.Message);
            return;
        }

        var table = TableRequest.From(context.Request);
        if (name is not null)
        {
            await GetAsync(context, ns!, name, table);
        }
        else if (query["watch"] is var watch && (watch == "true" || watch == "1"))
        {
            await WatchAsync(context, filter, table);
        }
        else
        {
            await ListAsync(context, filter, table);
        }
    }

    private static JsonObject ApiGroup() => new()
    {
        ["kind"] = "APIGroup",
        ["apiVersion"] = "v1",
        ["name"] = Group,
        ["versions"] = new JsonArray(new JsonObject { ["groupVersion"] = GroupVersion, ["version"] = "v1" }),
        ["preferredVersion"] = new JsonObject { ["groupVersion"] = GroupVersion, ["version"] = "v1" },
    };

    /// <summary>/apis/discovery.k8s.io/v1/endpointslices, .../namespaces/{ns}/endpointslices[/{name}].</summary>
    private static bool TryParseResourcePath(string path, out string? ns, out string? name)
    {
        ns = null;
        name = null;
        if (!path.StartsWith(ResourcePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = path[ResourcePrefix.Length..].Split('/');
        switch (parts)
        {
            case ["endpointslices"]:
                return true;
            case ["namespaces", var n, "endpointslices"] when n.Length > 0:
                ns = n;
                return true;
            case ["namespaces", var n, "endpointslices", var item] when n.Length > 0 && item.Length > 0:
                ns = n;
                name = item;
                return true;
            default:
                return false;
        }
    }

    private async Task ListAsync(HttpContext context, Func<JsonObject, bool> filter, TableRequest? table)
    {
        var query = context.Request.Query;
        var requested = query["resourceVersion"].ToString();
        var match = query["resourceVersionMatch"].ToString();
        JsonObject[] items;
        long rv;
        lock (_gate)
        {
            if (requested.Length > 0 && !long.TryParse(requested, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                items = [];
                rv = -1;
            }
            else
            {
                var asked = requested.Length == 0 ? 0 : long.Parse(requested, CultureInfo.InvariantCulture);
                // Exact needs the state at that version: this fixture has it only for the current one; older -> Expired, as after compaction.
                rv = match == "Exact" && asked != _resourceVersion ? -2 : _resourceVersion;
                items = _objects.Values.Where(filter).Select(o => (JsonObject)o.DeepClone()).ToArray();
            }
        }

        switch (rv)
        {
            case -1:
                await WriteStatusAsync(context, 400, "BadRequest", $"invalid resource version \"{requested}\"");
                return;
            case -2:
                await WriteStatusAsync(context, 410, "Expired", "The resourceVersion for the provided list is too old.");
                return;
        }

        var version = rv.ToString(CultureInfo.InvariantCulture);
        Interlocked.Increment(ref _listsServed);
        if (table is not null)
        {
            await WriteJsonAsync(context, 200, table.Build(items, version));
            return;
        }

        var list = new JsonObject
        {
            ["kind"] = "EndpointSliceList",
            ["apiVersion"] = GroupVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = version },
            ["items"] = new JsonArray(items.Cast<JsonNode>().ToArray()),
        };
        await WriteJsonAsync(context, 200, list);
    }

    private async Task GetAsync(HttpContext context, string ns, string name, TableRequest? table)
    {
        JsonObject? obj;
        long rv;
        lock (_gate)
        {
            obj = _objects.TryGetValue(ns + "/" + name, out var found) ? (JsonObject)found.DeepClone() : null;
            rv = _resourceVersion;
        }

        if (obj is null)
        {
            await WriteStatusAsync(context, 404, "NotFound", $"endpointslices.discovery.k8s.io \"{name}\" not found",
                new JsonObject { ["name"] = name, ["group"] = Group, ["kind"] = "endpointslices" });
            return;
        }

        Interlocked.Increment(ref _getsServed);
        await WriteJsonAsync(context, 200, table is null ? obj : table.Build([obj], rv.ToString(CultureInfo.InvariantCulture)));
    }

    private async Task GetNamespaceAsync(HttpContext context, string name)
    {
        bool exists;
        lock (_gate)
        {
            exists = _namespaces.Contains(name);
        }

        if (!exists)
        {
            await WriteStatusAsync(context, 404, "NotFound", $"namespaces \"{name}\" not found", new JsonObject { ["name"] = name, ["kind"] = "namespaces" });
            return;
        }

        await WriteJsonAsync(context, 200, new JsonObject
        {
            ["kind"] = "Namespace",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["uid"] = EndpointSliceJson.DeterministicUid("namespace/" + name),
                ["resourceVersion"] = "1",
                ["creationTimestamp"] = "2025-01-01T00:00:00Z",
                ["labels"] = new JsonObject { ["kubernetes.io/metadata.name"] = name },
            },
            ["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") },
            ["status"] = new JsonObject { ["phase"] = "Active" },
        });
    }

    private async Task WatchAsync(HttpContext context, Func<JsonObject, bool> filter, TableRequest? table)
    {
        var query = context.Request.Query;
        var requested = query["resourceVersion"].ToString();
        long from = 0;
        if (requested.Length > 0 && !long.TryParse(requested, NumberStyles.None, CultureInfo.InvariantCulture, out from))
        {
            await WriteStatusAsync(context, 400, "BadRequest", $"invalid resource version \"{requested}\"");
            return;
        }

        var timeoutSeconds = int.TryParse(query["timeoutSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var t) && t > 0 ? t : (int?)null;
        var session = new WatchSession(context, filter, query["allowWatchBookmarks"] == "true", table);
        string? expired = null;
        lock (_gate)
        {
            if (from == 0)
            {
                // Unset or "0": start at the current version with synthetic ADDED events for the current state.
                foreach (var obj in _objects.Values.Where(filter))
                {
                    session.Events.Writer.TryWrite(session.Frame("ADDED", obj));
                }

                _watches.Add(session);
            }
            else if (from < _oldestRetained)
            {
                expired = Status(410, "Expired", $"too old resource version: {from} ({_oldestRetained})").ToJsonString();
            }
            else
            {
                foreach (var change in _history.Where(c => c.ResourceVersion > from))
                {
                    session.Deliver(change);
                }

                _watches.Add(session);
            }
        }

        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-cache, private";
        Interlocked.Increment(ref _watchesOpened);
        await response.StartAsync();
        if (expired is not null)
        {
            // The real API server answers a watch from a compacted version with 200 and one ERROR event, then ends the stream.
            Interlocked.Increment(ref _watchesExpired);
            await response.WriteAsync("{\"type\":\"ERROR\",\"object\":" + expired + "}\n");
            return;
        }

        using var timeout = timeoutSeconds is { } seconds ? new CancellationTokenSource(TimeSpan.FromSeconds(seconds)) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, timeout.Token);
        try
        {
            await foreach (var line in session.Events.Reader.ReadAllAsync(linked.Token))
            {
                await response.WriteAsync(line + "\n", linked.Token);
                await response.Body.FlushAsync(linked.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // timeoutSeconds elapsed (a clean end of the stream) or the client went away.
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        finally
        {
            lock (_gate)
            {
                _watches.Remove(session);
            }
        }
    }

    private void Publish(Change change)
    {
        _history.Add(change);
        foreach (var watch in _watches)
        {
            watch.Deliver(change);
        }
    }

    private async Task WriteFailureAsync(HttpContext context, int status, string? ns)
    {
        var verb = context.Request.Query["watch"] == "true" ? "watch" : "list";
        var scope = ns is null ? "at the cluster scope" : $"in the namespace \"{ns}\"";
        var (reason, message) = status switch
        {
            401 => ("Unauthorized", "Unauthorized"),
            403 => ("Forbidden", $"endpointslices.discovery.k8s.io is forbidden: User \"system:serviceaccount:gateway:gateway\" cannot {verb} resource \"endpointslices\" in API group \"{Group}\" {scope}"),
            404 => ("NotFound", "the server could not find the requested resource"),
            429 => ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
            503 => ("ServiceUnavailable", "the server is currently unable to handle the request"),
            504 => ("Timeout", "the server was unable to return a response in the time allotted"),
            _ => ("InternalError", "an error on the server (\"injected by the test\") has prevented the request from succeeding"),
        };
        await WriteStatusAsync(context, status, reason, message, new JsonObject { ["group"] = Group, ["kind"] = "endpointslices" });
    }

    private static JsonObject Status(int code, string reason, string message, JsonObject? details = null)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
        };
        if (details is not null)
        {
            status["details"] = details;
        }

        status["code"] = code;
        return status;
    }

    private static Task WriteStatusAsync(HttpContext context, int code, string reason, string message, JsonObject? details = null) =>
        WriteJsonAsync(context, code, Status(code, reason, message, details));

    private static async Task WriteJsonAsync(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private static IReadOnlyDictionary<string, string> Labels(JsonObject obj) =>
        obj["metadata"]?["labels"] is JsonObject labels
            ? labels.Where(l => l.Value is not null).ToDictionary(l => l.Key, l => (string)l.Value!, StringComparer.Ordinal)
            : new Dictionary<string, string>();

    private static Func<JsonObject, bool> ParseFieldSelector(string? selector)
    {
        var checks = new List<Func<JsonObject, bool>>();
        foreach (var term in (selector ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var negate = term.Contains("!=", StringComparison.Ordinal);
            var parts = term.Split(negate ? "!=" : term.Contains("==", StringComparison.Ordinal) ? "==" : "=", 2);
            if (parts.Length != 2)
            {
                throw new FormatException($"invalid field selector: '{term}'");
            }

            var field = parts[0].Trim();
            var value = parts[1].Trim();
            Func<JsonObject, string?> read = field switch
            {
                "metadata.name" => o => (string?)o["metadata"]?["name"],
                "metadata.namespace" => o => (string?)o["metadata"]?["namespace"],
                _ => throw new FormatException($"field label not supported: {field}"),
            };
            checks.Add(o => (read(o) == value) != negate);
        }

        return o => checks.All(c => c(o));
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=fake-kube-apiserver", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    private static string Age(JsonObject obj)
    {
        var created = DateTime.TryParse((string?)obj["metadata"]?["creationTimestamp"], CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var c) ? c : Epoch;
        var age = DateTime.UtcNow - created;
        return age.TotalSeconds < 120 ? $"{Math.Max(0, (int)age.TotalSeconds)}s" : age.TotalMinutes < 120 ? $"{(int)age.TotalMinutes}m" : $"{(int)age.TotalHours}h";
    }

    /// <summary>One change to the store, with the object before (null when added) and after.</summary>
    private sealed record Change(string Type, long ResourceVersion, JsonObject? Old, JsonObject New);

    private sealed class WatchSession(HttpContext context, Func<JsonObject, bool> filter, bool bookmarks, TableRequest? table)
    {
        public HttpContext Context { get; } = context;

        public bool Bookmarks { get; } = bookmarks;

        public Channel<string> Events { get; } = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

        /// <summary>Filters a change as the API server's watch cache does: an object leaving the selector is DELETED, one entering it ADDED.</summary>
        public void Deliver(Change change)
        {
            var matchesNew = change.Type != "DELETED" && filter(change.New);
            var matchesOld = change.Old is not null && filter(change.Old);
            var (type, obj) = change.Type switch
            {
                "DELETED" when matchesOld => ("DELETED", change.New),
                "ADDED" when matchesNew => ("ADDED", change.New),
                "MODIFIED" when matchesNew && matchesOld => ("MODIFIED", change.New),
                "MODIFIED" when matchesNew => ("ADDED", change.New),
                "MODIFIED" when matchesOld => ("DELETED", WithVersion(change.Old!, change.ResourceVersion)),
                _ => (null, null),
            };
            if (type is not null)
            {
                Events.Writer.TryWrite(Frame(type, obj!));
            }
        }

        public string Frame(string type, JsonObject obj) => new JsonObject
        {
            ["type"] = type,
            ["object"] = table is null
                ? obj.DeepClone()
                : table.Build([obj], (string?)obj["metadata"]?["resourceVersion"] ?? string.Empty),
        }.ToJsonString();

        private static JsonObject WithVersion(JsonObject obj, long rv)
        {
            var copy = (JsonObject)obj.DeepClone();
            copy["metadata"]!["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            return copy;
        }
    }

    /// <summary>A client asking for <c>Accept: application/json;as=Table;v=v1;g=meta.k8s.io</c> (kubectl's human-readable output).</summary>
    private sealed class TableRequest
    {
        private readonly string _includeObject;

        private TableRequest(string includeObject) => _includeObject = includeObject;

        public static TableRequest? From(HttpRequest request)
        {
            var accept = request.Headers.Accept.ToString();
            // The first media range the client lists is its preference; kubectl puts Table first and plain JSON last.
            var first = accept.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? string.Empty;
            var parameters = first.Split(';', StringSplitOptions.TrimEntries).Skip(1).ToHashSet(StringComparer.Ordinal);
            if (!parameters.Contains("as=Table") || !parameters.Contains("g=meta.k8s.io") || !(parameters.Contains("v=v1") || parameters.Contains("v=v1beta1")))
            {
                return null;
            }

            var include = request.Query["includeObject"].ToString();
            return new TableRequest(include.Length == 0 ? "Metadata" : include);
        }

        public JsonObject Build(IEnumerable<JsonObject> items, string resourceVersion)
        {
            var rows = new JsonArray();
            foreach (var item in items)
            {
                var ports = item["ports"] is JsonArray { Count: > 0 } p
                    ? string.Join(",", p.Select(x => ((int?)x?["port"])?.ToString(CultureInfo.InvariantCulture) ?? "<unset>"))
                    : "<unset>";
                var addresses = (item["endpoints"] as JsonArray ?? []).SelectMany(e => (e?["addresses"] as JsonArray ?? []).Select(a => (string?)a)).ToList();
                var endpoints = addresses.Count == 0 ? "<unset>"
                    : addresses.Count <= 3 ? string.Join(",", addresses)
                    : string.Join(",", addresses.Take(3)) + $" + {addresses.Count - 3} more...";
                var row = new JsonObject
                {
                    ["cells"] = new JsonArray((string?)item["metadata"]?["name"], (string?)item["addressType"], ports, endpoints, Age(item)),
                };
                row["object"] = _includeObject switch
                {
                    "None" => null,
                    "Object" => item.DeepClone(),
                    _ => new JsonObject
                    {
                        ["kind"] = "PartialObjectMetadata",
                        ["apiVersion"] = "meta.k8s.io/v1",
                        ["metadata"] = item["metadata"]!.DeepClone(),
                    },
                };
                rows.Add(row);
            }

            return new JsonObject
            {
                ["kind"] = "Table",
                ["apiVersion"] = "meta.k8s.io/v1",
                ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion },
                ["columnDefinitions"] = new JsonArray(
                    Column("Name", "name", "Name must be unique within a namespace."),
                    Column("AddressType", string.Empty, "Type of address carried by this EndpointSlice."),
                    Column("Ports", string.Empty, "Ports in this EndpointSlice."),
                    Column("Endpoints", string.Empty, "Endpoints in this EndpointSlice."),
                    Column("Age", string.Empty, "CreationTimestamp of the object.")),
                ["rows"] = rows,
            };
        }

        private static JsonObject Column(string name, string format, string description) => new()
        {
            ["name"] = name,
            ["type"] = "string",
            ["format"] = format,
            ["description"] = description,
            ["priority"] = 0,
        };
    }

    /// <summary>Kubernetes label selectors: k=v, k==v, k!=v, k in (a,b), k notin (a,b), k, !k; comma means AND.</summary>
    private static partial class LabelSelector
    {
        public static Func<IReadOnlyDictionary<string, string>, bool> Parse(string? selector)
        {
            var checks = new List<Func<IReadOnlyDictionary<string, string>, bool>>();
            foreach (var term in SplitTerms(selector ?? string.Empty))
            {
                if (SetTerm().Match(term) is { Success: true } set)
                {
                    var key = set.Groups["key"].Value;
                    var values = set.Groups["values"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
                    var notIn = set.Groups["op"].Value == "notin";
                    checks.Add(l => l.TryGetValue(key, out var v) ? values.Contains(v) != notIn : notIn);
                }
                else if (EqualityTerm().Match(term) is { Success: true } eq)
                {
                    var key = eq.Groups["key"].Value;
                    var value = eq.Groups["value"].Value;
                    var negate = eq.Groups["op"].Value == "!=";
                    checks.Add(l => (l.TryGetValue(key, out var v) && v == value) != negate);
                }
                else if (ExistsTerm().Match(term) is { Success: true } exists)
                {
                    var key = exists.Groups["key"].Value;
                    var negate = exists.Groups["not"].Success;
                    checks.Add(l => l.ContainsKey(key) != negate);
                }
                else
                {
                    throw new FormatException($"unable to parse requirement: \"{term}\"");
                }
            }

            return labels => checks.All(c => c(labels));
        }

        private static IEnumerable<string> SplitTerms(string selector)
        {
            var depth = 0;
            var start = 0;
            for (var i = 0; i <= selector.Length; i++)
            {
                if (i == selector.Length || (selector[i] == ',' && depth == 0))
                {
                    var term = selector[start..i].Trim();
                    if (term.Length > 0)
                    {
                        yield return term;
                    }

                    start = i + 1;
                }
                else if (selector[i] == '(')
                {
                    depth++;
                }
                else if (selector[i] == ')')
                {
                    depth--;
                }
            }
        }

        [GeneratedRegex(@"^(?<key>[A-Za-z0-9./_-]+)\s+(?<op>in|notin)\s*\((?<values>[^)]*)\)$")]
        private static partial Regex SetTerm();

        [GeneratedRegex(@"^(?<key>[A-Za-z0-9./_-]+)\s*(?<op>==|!=|=)\s*(?<value>[A-Za-z0-9._-]*)$")]
        private static partial Regex EqualityTerm();

        [GeneratedRegex(@"^(?<not>!)?\s*(?<key>[A-Za-z0-9./_-]+)$")]
        private static partial Regex ExistsTerm();
    }
}
