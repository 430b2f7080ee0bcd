using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Gateway.Discovery;

/// <summary>Timings of a <see cref="KubernetesEndpointWatcher"/>.</summary>
internal sealed record KubernetesWatcherOptions
{
    /// <summary>The server ends each watch after this long (<c>timeoutSeconds</c>); the watcher then watches again from where it was.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A watch that outlives <see cref="WatchTimeout"/> by this much is cut by the client: the server should have ended it, so the
    /// connection is probably dead without anyone having said so.
    /// </summary>
    public TimeSpan WatchGrace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Relist this often even if the watch is healthy (cheap insurance against a missed event).</summary>
    public TimeSpan ResyncInterval { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Up to this fraction is taken off each back-off delay at random, so replicas spread out.</summary>
    public double RetryJitter { get; init; } = 0.2;
}

/// <summary>Kubernetes-specific counters, next to the <see cref="DiscoveryStatus"/> both providers share.</summary>
/// <param name="Lists">Successful lists (the first, relists after 410, resyncs, relists after a watch error).</param>
/// <param name="Relists">Lists forced by 410 Gone (the watch's resourceVersion had been compacted away).</param>
/// <param name="Resyncs">Periodic relists.</param>
/// <param name="Watches">Watch requests made.</param>
/// <param name="WatchEvents">ADDED/MODIFIED/DELETED events received.</param>
/// <param name="Bookmarks">BOOKMARK events received.</param>
/// <param name="ResourceVersion">Where the next watch starts.</param>
internal sealed record KubernetesWatchCounters(long Lists, long Relists, long Resyncs, long Watches, long WatchEvents, long Bookmarks, string? ResourceVersion);

/// <summary>
/// Watches the discovery.k8s.io/v1 EndpointSlices of one Service (label <c>kubernetes.io/service-name</c>) and publishes the merged
/// endpoint set: list, then watch from the list's resourceVersion with bookmarks; each event updates the set; a watch that ends
/// or drops is resumed from the last resourceVersion seen (bookmarks included), so no relist; 410 Gone (or an error event) relists;
/// API errors keep the last set and retry with capped exponential back-off; a periodic relist catches anything missed.
/// All waiting goes through the <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// The official client delivers nothing of a watch until its first line arrives, so a quiet watch counts as healthy only from its
/// first event (or its clean end); until then a previous failure stays in <see cref="DiscoveryStatus.ConsecutiveFailures"/>.
/// </remarks>
internal sealed class KubernetesEndpointWatcher : IEndpointDiscovery
{
    private readonly IKubernetes _client;
    private readonly KubernetesDiscoveryTarget _target;
    private readonly Action<DiscoveryUpdate> _onUpdate;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly KubernetesWatcherOptions _options;
    private readonly DiscoveryState _state;
    private readonly Dictionary<string, V1EndpointSlice> _slices = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly BackgroundLoop _loop;
    private string? _resourceVersion;
    private long _listedAt;
    private string? _lastRejection;
    private bool _warnedEmpty;
    private long _lists;
    private long _relists;
    private long _resyncs;
    private long _watches;
    private long _watchEvents;
    private long _bookmarks;

    public KubernetesEndpointWatcher(
        KubernetesDiscoveryTarget target,
        IKubernetes client,
        Action<DiscoveryUpdate> onUpdate,
        TimeProvider time,
        ILogger logger,
        KubernetesWatcherOptions? options = null)
    {
        _target = target;
        _client = client;
        _onUpdate = onUpdate;
        _time = time;
        _logger = logger;
        _options = options ?? new KubernetesWatcherOptions();
        _state = new DiscoveryState(Source, Target, time);
        _loop = new BackgroundLoop(RunAsync);
    }

    public string Source => DiscoveredEndpoint.KubernetesSource;

    public string Target => _target.ToString();

    public IReadOnlyList<DiscoveredEndpoint>? Current => _state.Current;

    public DiscoveryStatus Status => _state.Snapshot();

    public KubernetesWatchCounters Counters
    {
        get
        {
            lock (_gate)
            {
                return new KubernetesWatchCounters(_lists, _relists, _resyncs, _watches, _watchEvents, _bookmarks, _resourceVersion);
            }
        }
    }

    /// <summary>
    /// Client configuration: the kubeconfig at <paramref name="kubeConfigPath"/> when one is configured
    /// (Gateway:Discovery:Kubernetes:KubeConfig), else the pod's service account when running in a cluster, else KUBECONFIG
    /// (several files, ':'-separated, are merged). Never ~/.kube/config on its own: a gateway started on a laptop must
    /// not quietly watch whatever cluster kubectl points at.
    /// </summary>
    public static KubernetesClientConfiguration LoadConfiguration(string? kubeConfigPath, out string origin)
    {
        if (!string.IsNullOrWhiteSpace(kubeConfigPath))
        {
            origin = "kubeconfig " + kubeConfigPath;
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeConfigPath);
        }

        if (KubernetesClientConfiguration.IsInCluster())
        {
            origin = "the in-cluster service account";
            return KubernetesClientConfiguration.InClusterConfig();
        }

        var fromEnvironment = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            origin = "KUBECONFIG " + fromEnvironment;
            return KubernetesClientConfiguration.BuildDefaultConfig(); // reads KUBECONFIG first, merging several files
        }

        throw new InvalidOperationException(
            "not running in a Kubernetes cluster and no kubeconfig given (set Gateway:Discovery:Kubernetes:KubeConfig or KUBECONFIG)");
    }

    /// <summary>A client per <see cref="LoadConfiguration"/>; one client can serve every watcher of the process.</summary>
    public static IKubernetes CreateClient(string? kubeConfigPath, ILogger logger, TimeSpan? requestTimeout = null) =>
        CreateClient(kubeConfigPath, logger, out _, requestTimeout);

    /// <summary>As above, with the namespace the credentials name (the kubeconfig context's, or the pod's own).</summary>
    public static IKubernetes CreateClient(string? kubeConfigPath, ILogger logger, out string? @namespace, TimeSpan? requestTimeout = null)
    {
        var configuration = LoadConfiguration(kubeConfigPath, out var origin);
        @namespace = configuration.Namespace;
        configuration.HttpClientTimeout = requestTimeout ?? TimeSpan.FromSeconds(30);
        Log.KubernetesCredentials(logger, origin, configuration.Host);
        return new StreamingKubernetes(configuration);
    }

    public void Start() => _loop.Start();

    public Task StopAsync() => _loop.StopAsync();

    public ValueTask DisposeAsync() => _loop.DisposeAsync();

    private async Task RunAsync(CancellationToken stopping)
    {
        var listReason = "initial list";
        var mustList = true;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                if (mustList)
                {
                    if (!await TryListAsync(listReason, stopping).ConfigureAwait(false))
                    {
                        continue; // backed off already
                    }

                    mustList = false;
                }

                var outcome = await WatchOnceAsync(stopping).ConfigureAwait(false);
                switch (outcome)
                {
                    case WatchOutcome.Ended:
                        break;
                    case WatchOutcome.Expired:
                        Log.WatchExpired(_logger, Target, _resourceVersion);
                        Count(ref _relists);
                        mustList = true;
                        listReason = "relist after 410 Gone";
                        break;
                    case WatchOutcome.ResyncDue:
                        Count(ref _resyncs);
                        mustList = true;
                        listReason = "periodic resync";
                        break;
                    case WatchOutcome.ErrorEvent:
                        mustList = true;
                        listReason = "relist after a watch error";
                        break;
                    case WatchOutcome.Failed:
                        break; // backed off already; watch again from the last resourceVersion
                }
            }
        }
        catch (Exception) when (stopping.IsCancellationRequested)
        {
            // stopped
        }
    }

    private async Task<bool> TryListAsync(string reason, CancellationToken stopping)
    {
        V1EndpointSliceList list;
        try
        {
            list = await _client.DiscoveryV1.ListNamespacedEndpointSliceAsync(
                _target.Namespace, labelSelector: _target.LabelSelector, cancellationToken: stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested)
        {
            await FailAsync("list", ex, stopping).ConfigureAwait(false);
            return false;
        }

        _slices.Clear();
        foreach (var slice in list.Items ?? [])
        {
            if (slice.Metadata?.Name is { } name)
            {
                _slices[name] = slice;
            }
        }

        lock (_gate)
        {
            _resourceVersion = list.Metadata?.ResourceVersion;
            _lists++;
        }

        _listedAt = _time.GetTimestamp();
        Succeed();
        Apply(reason);
        return true;
    }

    private async Task<WatchOutcome> WatchOnceAsync(CancellationToken stopping)
    {
        var sinceList = _time.GetElapsedTime(_listedAt);
        var resyncIn = _options.ResyncInterval - sinceList;
        if (resyncIn <= TimeSpan.Zero)
        {
            return WatchOutcome.ResyncDue;
        }

        var clientDeadline = _options.WatchTimeout + _options.WatchGrace;
        var resyncFirst = resyncIn <= clientDeadline;
        using var deadline = new CancellationTokenSource(resyncFirst ? resyncIn : clientDeadline, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, deadline.Token);
        Exception? streamError = null;
        var from = _resourceVersion;
        Count(ref _watches);
        try
        {
            var events = EndpointSliceWatch.WatchAsync(
                _client,
                _target.Namespace,
                _target.LabelSelector,
                from,
                (int)Math.Max(1, _options.WatchTimeout.TotalSeconds),
                e => streamError ??= e,
                linked.Token);
            var first = true;
            await foreach (var (type, slice) in events.ConfigureAwait(false))
            {
                if (first)
                {
                    first = false;
                    Succeed();
                }

                if (streamError is not null)
                {
                    break;
                }

                OnEvent(type, slice);
            }
        }
        catch (Exception) when (stopping.IsCancellationRequested)
        {
            throw new OperationCanceledException(stopping);
        }
        catch (Exception) when (deadline.IsCancellationRequested)
        {
            if (resyncFirst)
            {
                return WatchOutcome.ResyncDue;
            }

            Log.WatchEnded(_logger, Target, _resourceVersion, "no end from the server in time; cut by the client");
            return WatchOutcome.Ended;
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Gone)
        {
            return WatchOutcome.Expired;
        }
        catch (Exception ex)
        {
            if (streamError is null)
            {
                await FailAsync("watch", ex, stopping).ConfigureAwait(false);
                return WatchOutcome.Failed;
            }

            // An ERROR event came first; it says more than the broken stream after it.
        }

        switch (streamError)
        {
            case null:
                Succeed();
                Log.WatchEnded(_logger, Target, _resourceVersion, "ended by the server");
                return WatchOutcome.Ended;
            case KubernetesException { Status.Code: 410 }:
                return WatchOutcome.Expired;
            default:
                // An ERROR event other than 410, or an event that could not be read: state may have been missed, so relist.
                Log.WatchError(_logger, Target, streamError.Message);
                await FailAsync("watch", streamError, stopping, log: false).ConfigureAwait(false);
                return WatchOutcome.ErrorEvent;
        }
    }

    private void OnEvent(WatchEventType type, V1EndpointSlice slice)
    {
        var version = slice.Metadata?.ResourceVersion;
        var name = slice.Metadata?.Name;
        switch (type)
        {
            case WatchEventType.Bookmark:
                lock (_gate)
                {
                    _resourceVersion = version ?? _resourceVersion;
                    _bookmarks++;
                }

                Log.Bookmark(_logger, Target, version);
                return;
            case WatchEventType.Added or WatchEventType.Modified when name is not null:
                _slices[name] = slice;
                break;
            case WatchEventType.Deleted when name is not null:
                _slices.Remove(name);
                break;
            default:
                return;
        }

        lock (_gate)
        {
            _resourceVersion = version ?? _resourceVersion;
            _watchEvents++;
        }

        Apply($"watch {type.ToString().ToUpperInvariant()} {name}");
    }

    /// <summary>Maps the slices to a set and publishes it if it changed; a set refused as invalid is counted, logged once, not applied.</summary>
    private void Apply(string reason)
    {
        var mapping = EndpointSliceMapper.Map(_slices.Values, _target);
        if (mapping.Error is { } error)
        {
            _state.Rejected(error);
            if (!string.Equals(error, _lastRejection, StringComparison.Ordinal))
            {
                _lastRejection = error;
                Log.PortNotFound(_logger, Target, error);
            }

            return;
        }

        _lastRejection = null;
        if (mapping.SliceCount == 0 && !_warnedEmpty)
        {
            Log.NoSlices(_logger, Target, _target.Service, _target.Namespace);
        }

        _warnedEmpty = mapping.SliceCount == 0;
        Publish(mapping.Endpoints, reason);
    }

    private void Publish(IReadOnlyList<DiscoveredEndpoint> endpoints, string reason)
    {
        if (_state.Offer(endpoints, reason) is not { } update)
        {
            return;
        }

        Log.EndpointsChanged(_logger, Source, Target, endpoints.Count,
            endpoints.Count(e => e.Condition == EndpointCondition.Ready),
            endpoints.Count(e => e.Condition == EndpointCondition.Draining),
            endpoints.Count(e => e.Condition == EndpointCondition.NotReady),
            reason);
        try
        {
            _onUpdate(update);
        }
        catch (Exception ex)
        {
            Log.CallbackFailed(_logger, ex, Source, Target);
        }
    }

    private void Succeed()
    {
        if (_state.Succeeded() is var ended and > 0)
        {
            Log.Recovered(_logger, Source, Target, ended);
        }
    }

    private async Task FailAsync(string operation, Exception ex, CancellationToken stopping, bool log = true)
    {
        var message = Describe(ex);
        var failures = _state.Failed($"{operation}: {message}");
        var delay = Backoff.Delay(failures, _options.InitialRetryDelay, _options.MaxRetryDelay, _options.RetryJitter);
        if (log)
        {
            Log.LookupFailed(_logger, Source, Target, operation, failures, message, _state.Current?.Count ?? 0, delay);
        }

        await Task.Delay(delay, _time, stopping).ConfigureAwait(false);
    }

    /// <summary>The API server's own words when it sent a Status (403 Forbidden names the user and the verb), else the exception's.</summary>
    private static string Describe(Exception ex) => ex switch
    {
        HttpOperationException { Response: { } response } when TryReadStatus(response.Content) is { } status =>
            $"{(int)response.StatusCode} {status.Reason}: {status.Message}",
        HttpOperationException { Response: { } response } => $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}",
        KubernetesException { Status: { } status } => $"{status.Code} {status.Reason}: {status.Message}",
        _ when ex.InnerException is { } inner => $"{ex.Message} ({inner.Message})",
        _ => ex.Message,
    };

    private static V1Status? TryReadStatus(string? body)
    {
        if (string.IsNullOrEmpty(body) || body[0] != '{')
        {
            return null;
        }

        try
        {
            var status = KubernetesJson.Deserialize<V1Status>(body);
            return status?.Kind == "Status" ? status : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private void Count(ref long counter)
    {
        lock (_gate)
        {
            counter++;
        }
    }

    private enum WatchOutcome
    {
        Ended,
        Expired,
        ResyncDue,
        ErrorEvent,
        Failed,
    }
}
