// Validates every candidate config (at start and on each file change) and applies only good ones:
// the file-backed configuration source and YARP's routes/clusters change together, or not at all.
using Gateway.Foundation;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.LoadBalancing;

namespace Gateway.Configuration;

/// <summary>What <see cref="ConfigurationExtensions.AddGatewayConfiguration"/> found before the host was built.</summary>
internal sealed record GatewayConfigFileState(string Path, GatewayConfigProvider Provider, ConfigFileContent Initial);

/// <summary>A dry run's answer: errors (empty when valid), unknown keys, and the changes a reload would make (null when invalid).</summary>
internal sealed record ConfigPreview(IReadOnlyList<string> Errors, IReadOnlyList<UnknownKey> Unknown, System.Text.Json.Nodes.JsonObject? Changes);

internal sealed class GatewayConfigStore : IHostedService, IDisposable
{
    /// <summary>How long unparsable or unreadable content must stay unchanged before it counts as a rejected reload.</summary>
    internal static readonly TimeSpan UnsettledWindow = TimeSpan.FromMilliseconds(500);

    private readonly GatewayConfigFileState _file;
    private readonly IConfigurationRoot _root;
    private readonly IConfigValidator _yarpValidator;
    private readonly IProxyConfigFilter[] _yarpFilters;
    private readonly HashSet<string> _loadBalancingPolicies;
    private readonly IEnumerable<IGatewayConfigCheck> _checks;
    private readonly ExtensionBlock[] _blocks;
    private readonly OptionsSection[] _optionsSections;
    private readonly IConfigChangePreview[] _previews;
    private readonly RestartRequiredSection[] _restartSections;
    private readonly StartupSummary _summary;
    private readonly GatewayProxyConfigProvider _proxyConfig;
    private readonly ConfigMetrics _metrics;
    private readonly IOptionsMonitor<ConfigurationOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<GatewayConfigStore> _logger;
    private readonly Lock _reloadLock = new();
    private ConfigFileContent? _lastSeen;
    private ConfigFileContent? _unsettled;
    private long _unsettledSince;
    private ITimer? _recheck;
    private bool _stopped;
    private ProxySnapshot _applied = new([], []);
    private FileWatcher? _watcher;
    private long _generation;

    public GatewayConfigStore(
        GatewayConfigFileState file,
        IConfiguration configuration,
        IConfigValidator yarpValidator,
        IEnumerable<IProxyConfigFilter> yarpFilters,
        IEnumerable<ILoadBalancingPolicy> loadBalancingPolicies,
        IEnumerable<IGatewayConfigCheck> checks,
        IEnumerable<ExtensionBlock> blocks,
        IEnumerable<OptionsSection> optionsSections,
        IEnumerable<IConfigChangePreview> previews,
        IEnumerable<RestartRequiredSection> restartSections,
        StartupSummary summary,
        GatewayProxyConfigProvider proxyConfig,
        ConfigMetrics metrics,
        IOptionsMonitor<ConfigurationOptions> options,
        TimeProvider time,
        ILogger<GatewayConfigStore> logger)
    {
        _file = file;
        _root = (IConfigurationRoot)configuration;
        _yarpValidator = yarpValidator;
        _yarpFilters = yarpFilters.ToArray();
        _loadBalancingPolicies = new HashSet<string>(loadBalancingPolicies.Select(p => p.Name), StringComparer.OrdinalIgnoreCase);
        _checks = checks;
        _blocks = blocks.ToArray();
        _optionsSections = optionsSections.ToArray();
        _previews = previews.ToArray();
        _restartSections = restartSections.ToArray();
        _summary = summary;
        _proxyConfig = proxyConfig;
        _metrics = metrics;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public string Path => _file.Path;

    /// <summary>What is in force: the served config's counts and every capability's effective settings.</summary>
    public System.Text.Json.Nodes.JsonObject InForce()
    {
        var applied = _applied;
        return _summary.Build(_file.Path, applied.Routes.Count, applied.Clusters.Count);
    }

    /// <summary>Incremented on every applied configuration; the admin API shows it.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>Validates the file read at start-up and applies it; returns the problems otherwise.</summary>
    public IReadOnlyList<string> LoadInitial()
    {
        lock (_reloadLock)
        {
            _lastSeen = _file.Initial;
            var (snapshot, errors, unknown) = Validate(_file.Initial);
            LogUnknownKeys(unknown);
            if (snapshot is null)
            {
                return errors;
            }

            _proxyConfig.Update(snapshot);
            _applied = snapshot;
            Interlocked.Increment(ref _generation);
            Log.ConfigLoaded(_logger, _file.Path, snapshot.Routes.Count, snapshot.Clusters.Count);
            Log.InForce(_logger, StartupSummary.Render(InForce()));
            return [];
        }
    }

    /// <summary>Re-reads the file; applies it when its content changed and it is valid. Safe to call often.</summary>
    public void CheckForChange()
    {
        try
        {
            lock (_reloadLock)
            {
                var content = GatewayConfigFile.Read(_file.Path);
                if (content.SameContentAs(_lastSeen))
                {
                    return;
                }

                if (content.Data is null && !HasSettled(content))
                {
                    return;
                }

                _unsettled = null;
                _lastSeen = content;
                var (snapshot, errors, unknown) = Validate(content);
                LogUnknownKeys(unknown);
                if (snapshot is null || content.Data is null)
                {
                    _metrics.ConfigReload(success: false);
                    Log.ConfigRejected(_logger, _file.Path, string.Join(Environment.NewLine, errors));
                    return;
                }

                ReplaceConfiguration(content.Data);
                _proxyConfig.Update(snapshot);
                _applied = snapshot;
                Interlocked.Increment(ref _generation);
                _metrics.ConfigReload(success: true);
                Log.ConfigReloaded(_logger, _file.Path, snapshot.Routes.Count, snapshot.Clusters.Count);
            }
        }
        catch (Exception ex)
        {
            // A bug in a check must not take the gateway down; the last good config keeps serving.
            _metrics.ConfigReload(success: false);
            Log.ConfigReloadFailed(_logger, _file.Path, ex);
        }
    }

    /// <summary>
    /// A file written in place (truncate, then write; `cat >`, File.WriteAllText) can be read empty or half-written by a
    /// poll that lands between the two. Unparsable content is rejected only once it has stayed the same for
    /// <see cref="UnsettledWindow"/>; until then we re-read it, so a half-written file is never reported.
    /// </summary>
    private bool HasSettled(ConfigFileContent content)
    {
        if (!content.SameContentAs(_unsettled))
        {
            _unsettled = content;
            _unsettledSince = _time.GetTimestamp();
            ScheduleRecheck(UnsettledWindow);
            return false;
        }

        var waited = _time.GetElapsedTime(_unsettledSince);
        if (waited < UnsettledWindow)
        {
            ScheduleRecheck(UnsettledWindow - waited);
            return false;
        }

        return true;
    }

    private void ScheduleRecheck(TimeSpan delay)
    {
        if (_stopped)
        {
            return;
        }

        _recheck ??= _time.CreateTimer(_ => CheckForChange(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _recheck.Change(delay, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Swaps the file-backed configuration. Its change listeners run inside the swap; one that throws must not leave YARP
    /// on the old routes while everything else has the new file (the data is in by then, and every listener has run).
    /// </summary>
    private void ReplaceConfiguration(IReadOnlyDictionary<string, string?> data)
    {
        try
        {
            _file.Provider.Replace(data);
        }
        catch (Exception ex)
        {
            Log.ConfigListenerFailed(_logger, _file.Path, ex);
        }
    }

    /// <summary>Validates <paramref name="content"/> exactly as a reload would, without applying it (the config fuzz tests use this).</summary>
    internal IReadOnlyList<string> ValidateCandidate(ConfigFileContent content) => Validate(content).Errors;

    /// <summary>As <see cref="ValidateCandidate"/>, also returning the unknown keys (warnings unless strict).</summary>
    internal (IReadOnlyList<string> Errors, IReadOnlyList<UnknownKey> Unknown) ValidateCandidateWithWarnings(ConfigFileContent content)
    {
        var (_, errors, unknown) = Validate(content);
        return (errors, unknown);
    }

    /// <summary>
    /// The dry run: validates <paramref name="content"/> exactly as a reload would and, when it is valid, reports what
    /// applying it would change against the config being served. Nothing is applied.
    /// </summary>
    internal ConfigPreview Preview(ConfigFileContent content)
    {
        lock (_reloadLock)
        {
            var (snapshot, errors, unknown, candidate) = ValidateWithCandidate(content);
            if (snapshot is null || candidate is null)
            {
                return new ConfigPreview(errors, unknown, null);
            }

            var context = new ConfigChangeContext(_applied.Routes, _applied.Clusters, _root, snapshot.Routes, snapshot.Clusters, candidate);
            return new ConfigPreview(errors, unknown, ConfigChangeReport.Build(context, _previews, _restartSections));
        }
    }

    private (ProxySnapshot? Snapshot, List<string> Errors, List<UnknownKey> Unknown) Validate(ConfigFileContent content)
    {
        var (snapshot, errors, unknown, _) = ValidateWithCandidate(content);
        return (snapshot, errors, unknown);
    }

    private (ProxySnapshot? Snapshot, List<string> Errors, List<UnknownKey> Unknown, IConfiguration? Candidate) ValidateWithCandidate(ConfigFileContent content)
    {
        var errors = new List<string>();
        if (content.Data is null)
        {
            errors.Add(content.Error ?? $"{_file.Path}: unreadable");
            return (null, errors, [], null);
        }

        var candidate = ConfigurationSnapshot.Build(_root, _file.Provider, content.Data);
        var diagnostics = new SchemaDiagnostics(errors);
        var snapshot = ProxyConfigReader.Read(candidate, _blocks, diagnostics);
        GatewaySectionKeys.Collect(candidate, _optionsSections, _blocks, diagnostics.Unknown);
        if (IsStrict(candidate, errors))
        {
            foreach (var key in diagnostics.Unknown)
            {
                errors.Add($"{key} ({ConfigurationOptions.SectionPath}:Strict is true)");
            }

            diagnostics.Unknown.Clear();
        }

        foreach (var cluster in snapshot.Clusters)
        {
            var path = $"{ProxyConfigReader.SectionName}:Clusters:{cluster.ClusterId}";
            if (cluster.LoadBalancingPolicy is { Length: > 0 } policy && !_loadBalancingPolicies.Contains(policy))
            {
                errors.Add(ConfigErrors.Invalid($"{path}:LoadBalancingPolicy", policy,
                    $"is not a load-balancing policy (known: {string.Join(", ", _loadBalancingPolicies.Order(StringComparer.Ordinal))})"));
                continue;
            }

            AddYarpErrors(path, _yarpValidator.ValidateClusterAsync(ApplyFilters(cluster)), errors);
        }

        foreach (var route in snapshot.Routes)
        {
            AddYarpErrors($"{ProxyConfigReader.SectionName}:Routes:{route.RouteId}", _yarpValidator.ValidateRouteAsync(route), errors);
        }

        foreach (var check in _checks)
        {
            check.Check(candidate, errors);
        }

        return errors.Count == 0
            ? (snapshot, errors, diagnostics.Unknown, candidate)
            : (null, errors.Distinct(StringComparer.Ordinal).ToList(), diagnostics.Unknown, candidate);
    }

    private static bool IsStrict(IConfiguration candidate, List<string> errors)
    {
        var path = $"{ConfigurationOptions.SectionPath}:Strict";
        if (candidate[path] is not { } value)
        {
            return false;
        }

        if (bool.TryParse(value, out var strict))
        {
            return strict;
        }

        errors.Add(ConfigErrors.Invalid(path, value, "is not true or false"));
        return false;
    }

    private void LogUnknownKeys(List<UnknownKey> unknown)
    {
        foreach (var key in unknown)
        {
            Log.UnknownKey(_logger, _file.Path, key.ToString());
        }
    }

    // YARP validates a cluster after its IProxyConfigFilters ran (they may fill in defaults); so do we.
    private ClusterConfig ApplyFilters(ClusterConfig cluster)
    {
        foreach (var filter in _yarpFilters)
        {
            cluster = filter.ConfigureClusterAsync(cluster, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        return cluster;
    }

    private static void AddYarpErrors(string path, ValueTask<IList<Exception>> validation, List<string> errors)
    {
        // YARP's validators complete synchronously for config-only checks; this runs off the request path.
        foreach (var error in validation.AsTask().GetAwaiter().GetResult())
        {
            errors.Add($"{path}: {error.Message}");
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _watcher = new FileWatcher(_file.Path, _options.CurrentValue.PollInterval, _time, CheckForChange);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _watcher?.Dispose();
        _watcher = null;
        StopRecheck();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        StopRecheck();
    }

    private void StopRecheck()
    {
        lock (_reloadLock)
        {
            _stopped = true;
            _recheck?.Dispose();
            _recheck = null;
        }
    }
}
