// The policies known to this process and their current settings.
// ASP.NET Core's output-cache options are built once, so the set of names is fixed at start; each name's settings are
// rebuilt from IOptionsMonitor after every accepted reload and apply from the next request.
using Microsoft.Extensions.Options;

namespace Gateway.OutputCaching;

internal sealed class OutputCachePolicies : IDisposable
{
    private readonly IOptionsMonitor<OutputCachingOptions> _options;
    private readonly ILogger<OutputCachePolicies> _logger;
    private readonly Lock _lock = new();
    private Dictionary<string, PolicySettings>? _settings;
    private IDisposable? _subscription;

    public OutputCachePolicies(IConfiguration configuration, IOptionsMonitor<OutputCachingOptions> options, ILogger<OutputCachePolicies> logger)
    {
        _options = options;
        _logger = logger;
        // Names only, without binding: this runs before the config is validated and must not throw on a bad value.
        var names = new List<string>();
        foreach (var policy in configuration.GetSection($"{OutputCachingOptions.SectionPath}:Policies").GetChildren())
        {
            names.Add(policy.Key);
        }

        RegisteredNames = names;
    }

    /// <summary>Policy names present at start: the ones registered with ASP.NET Core's output cache.</summary>
    public IReadOnlyList<string> RegisteredNames { get; }

    public bool IsRegistered(string name)
    {
        foreach (var registered in RegisteredNames)
        {
            if (string.Equals(registered, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Current settings of a registered policy. Read on the request path: one volatile read and a dictionary lookup.</summary>
    public PolicySettings Get(string name)
    {
        var settings = Volatile.Read(ref _settings) ?? Initialize();
        return settings[name];
    }

    private Dictionary<string, PolicySettings> Initialize()
    {
        lock (_lock)
        {
            if (_settings is null)
            {
                // First use is after the start-up validation passed, so binding cannot fail here.
                Volatile.Write(ref _settings, Build(_options.CurrentValue, previous: null));
                _subscription = _options.OnChange(OnChange);
            }

            return _settings!;
        }
    }

    private void OnChange(OutputCachingOptions options)
    {
        lock (_lock)
        {
            var next = Build(options, _settings);
            foreach (var (name, settings) in next)
            {
                if (_settings is not null && _settings.TryGetValue(name, out var old) && !old.SameAs(settings))
                {
                    Log.PolicyReloaded(_logger, name, settings.Expire);
                }
            }

            Volatile.Write(ref _settings, next);
        }
    }

    private Dictionary<string, PolicySettings> Build(OutputCachingOptions options, Dictionary<string, PolicySettings>? previous)
    {
        var result = new Dictionary<string, PolicySettings>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in RegisteredNames)
        {
            if (options.Policies.TryGetValue(name, out var policy))
            {
                result[name] = new PolicySettings(policy);
            }
            else if (previous is not null && previous.TryGetValue(name, out var kept))
            {
                // Removed on reload: routes can no longer name it (validation), keep it for requests already routed.
                result[name] = kept;
            }
            else
            {
                result[name] = new PolicySettings(new OutputCachePolicyOptions());
            }
        }

        return result;
    }

    public void Dispose() => _subscription?.Dispose();
}
