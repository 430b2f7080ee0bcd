// Named policies whose names ASP.NET Core takes once, at start (the rate limiter's and the output cache's policy maps
// are built when first resolved), while each policy's settings reload: the names present at start, each name's
// current settings rebuilt after every accepted reload, and the check of a candidate's routes that name a policy.
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace Gateway.Foundation;

internal sealed class StartupNamedPolicies<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] TPolicy, TSettings> : IDisposable
    where TOptions : class
    where TPolicy : class, IConfigBindable<TPolicy>, new()
    where TSettings : class
{
    private readonly string _policiesPath;
    private readonly StringComparer _comparer;
    private readonly IOptionsMonitor<TOptions> _options;
    private readonly Func<TOptions, IReadOnlyDictionary<string, TPolicy>> _policiesOf;
    private readonly Func<string, TPolicy, TSettings> _create;
    private readonly Func<TSettings, TSettings, bool> _same;
    private readonly Action<string, TSettings> _reloaded;
    private readonly Lock _lock = new();
    private Dictionary<string, TSettings>? _settings;
    private IDisposable? _subscription;

    /// <param name="policiesPath">The section holding the policies by name, e.g. <c>Gateway:RateLimiting:Policies</c>.</param>
    /// <param name="create">A policy's settings as the request path reads them.</param>
    /// <param name="same">Whether two settings are equal: then the old instance is kept (and its state, e.g. limiters).</param>
    /// <param name="reloaded">Told about a name whose settings changed on reload (to log it).</param>
    public StartupNamedPolicies(
        IConfiguration configuration, string policiesPath, StringComparer comparer, IOptionsMonitor<TOptions> options,
        Func<TOptions, IReadOnlyDictionary<string, TPolicy>> policiesOf, Func<string, TPolicy, TSettings> create,
        Func<TSettings, TSettings, bool> same, Action<string, TSettings> reloaded)
    {
        _policiesPath = policiesPath;
        _comparer = comparer;
        _options = options;
        _policiesOf = policiesOf;
        _create = create;
        _same = same;
        _reloaded = reloaded;
        // Names only, without binding: this runs before the config is validated and must not throw on a bad value.
        var names = new List<string>();
        foreach (var policy in configuration.GetSection(policiesPath).GetChildren())
        {
            names.Add(policy.Key);
        }

        RegisteredNames = names;
    }

    /// <summary>Policy names present at start: the ones registered with ASP.NET Core.</summary>
    public IReadOnlyList<string> RegisteredNames { get; }

    public bool IsRegistered(string name)
    {
        foreach (var registered in RegisteredNames)
        {
            if (_comparer.Equals(registered, name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Current settings of a registered policy. Read on the request path: one volatile read and a dictionary lookup.</summary>
    public TSettings Get(string name)
    {
        var settings = Volatile.Read(ref _settings) ?? Initialize();
        return settings[name];
    }

    /// <summary>
    /// Each policy of <paramref name="candidate"/> must bind, and a route's <paramref name="routeKey"/> must name a policy
    /// present at start (the names ASP.NET Core knows); <paramref name="skip"/> passes values that need no policy.
    /// </summary>
    public void CheckRoutes(IConfiguration candidate, string routeKey, Func<string, bool> skip, ICollection<string> errors)
    {
        var defined = ConfigErrors.BindEach<TPolicy>(candidate.GetSection(_policiesPath), candidate, errors);

        foreach (var route in candidate.GetSection($"{ExtensionBlock.ReverseProxySection}:Routes").GetChildren())
        {
            var section = route.GetSection(routeKey);
            var name = section.Value;
            if (string.IsNullOrEmpty(name) || skip(name))
            {
                continue;
            }

            if (!defined.Contains(name, _comparer))
            {
                errors.Add(ReferenceEquals(_comparer, StringComparer.Ordinal)
                    ? ConfigErrors.UnknownName(section.Path, name, "policy", _policiesPath, defined)
                    : ConfigErrors.Invalid(section.Path, name, $"names no policy under {_policiesPath} ({Known(defined)}; names are not case-sensitive)"));
            }
            else if (!IsRegistered(name))
            {
                errors.Add(ConfigErrors.Invalid(section.Path, name, "is a policy added after the gateway started; new policy names take effect after a restart (changed settings of existing policies reload)"));
            }
        }
    }

    private static string Known(List<string> defined) =>
        defined.Count == 0 ? "none defined" : "known: " + string.Join(", ", defined.Order(StringComparer.OrdinalIgnoreCase));

    private Dictionary<string, TSettings> Initialize()
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

    private void OnChange(TOptions options)
    {
        lock (_lock)
        {
            var next = Build(options, _settings);
            foreach (var (name, settings) in next)
            {
                if (_settings is not null && _settings.TryGetValue(name, out var old) && !ReferenceEquals(old, settings))
                {
                    _reloaded(name, settings);
                }
            }

            Volatile.Write(ref _settings, next);
        }
    }

    private Dictionary<string, TSettings> Build(TOptions options, Dictionary<string, TSettings>? previous)
    {
        var policies = _policiesOf(options);
        var result = new Dictionary<string, TSettings>(_comparer);
        foreach (var name in RegisteredNames)
        {
            if (policies.TryGetValue(name, out var policy))
            {
                var settings = _create(name, policy);
                // Keep the old instance when nothing changed, so state hung on it (limiters and their counts) survives.
                result[name] = previous is not null && previous.TryGetValue(name, out var old) && _same(old, settings) ? old : settings;
            }
            else if (previous is not null && previous.TryGetValue(name, out var kept))
            {
                // Removed on reload: routes can no longer name it (validation), keep it for requests already routed.
                result[name] = kept;
            }
            else
            {
                result[name] = _create(name, new TPolicy());
            }
        }

        return result;
    }

    public void Dispose() => _subscription?.Dispose();
}
