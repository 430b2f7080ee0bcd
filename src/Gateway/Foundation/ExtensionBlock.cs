// The seam for the blocks the gateway adds inside YARP's clusters and routes (ConnectionPool, Retry, Discovery, ...).
// A capability declares its block once. The config reader validates every declared block of each candidate config and
// carries the block's content, with its defaults section, into the cluster's (or route's) Metadata: a change to either
// reaches YARP as a cluster change, and the capability reads its typed settings back from the config YARP hands it,
// never from the live IConfiguration (which may already hold a newer file than the cluster being served).
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Gateway.Foundation;

internal enum ExtensionScope
{
    /// <summary>Inside <c>ReverseProxy:Clusters:&lt;id&gt;</c>.</summary>
    Cluster,

    /// <summary>Inside <c>ReverseProxy:Routes:&lt;id&gt;</c>.</summary>
    Route,
}

/// <summary>A block as the config reader sees it: where it lives, and how to validate and capture it.</summary>
internal abstract class ExtensionBlock
{
    public const string ReverseProxySection = "ReverseProxy";

    protected ExtensionBlock(ExtensionScope scope, string? name, string? defaultsSectionPath, bool suppliesDestinations)
    {
        if (name is null && defaultsSectionPath is null)
        {
            throw new ArgumentException("A block needs a name, a defaults section, or both.");
        }

        Scope = scope;
        Name = name;
        DefaultsSectionPath = defaultsSectionPath;
        SuppliesDestinations = suppliesDestinations;
        MetadataKey = "Gateway.Block." + (name ?? defaultsSectionPath);
    }

    public ExtensionScope Scope { get; }

    /// <summary>The key inside each cluster or route (e.g. <c>ConnectionPool</c>); null for a block that has only defaults.</summary>
    public string? Name { get; }

    /// <summary>The section that holds the defaults for every cluster or route (e.g. <c>Gateway:ConnectionPool</c>), if any.</summary>
    public string? DefaultsSectionPath { get; }

    /// <summary>A cluster with this block needs no static <c>Destinations</c> (the block provides them).</summary>
    public bool SuppliesDestinations { get; }

    /// <summary>The cluster or route Metadata key that carries the block's content.</summary>
    public string MetadataKey { get; }

    /// <summary>The options type the block binds to (the unknown-key check walks its properties).</summary>
    [System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicProperties)]
    public abstract Type OptionsType { get; }

    /// <summary>Whether <paramref name="owner"/> (a cluster or route section) has this block.</summary>
    public bool IsSetIn(IConfigurationSection owner) => Name is not null && owner.GetSection(Name).Exists();

    /// <summary>
    /// Validates the block inside <paramref name="owner"/> and returns the Metadata value that carries it and its
    /// defaults, or null when neither is set. Errors name the key path; defaults are validated by their own options.
    /// </summary>
    public string? Capture(IConfigurationSection owner, IConfiguration candidate, ICollection<string> errors)
    {
        var block = Name is null ? null : owner.GetSection(Name);
        if (block is not null && block.Exists())
        {
            Validate(block, candidate, errors);
        }

        var defaults = DefaultsSectionPath is null ? null : candidate.GetSection(DefaultsSectionPath);
        if (block?.Exists() != true && defaults?.Exists() != true)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            WritePairs(json, "own", block);
            WritePairs(json, "defaults", defaults);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    protected abstract void Validate(IConfigurationSection block, IConfiguration candidate, ICollection<string> errors);

    private static void WritePairs(Utf8JsonWriter json, string name, IConfigurationSection? section)
    {
        if (section is null || !section.Exists())
        {
            return;
        }

        json.WriteStartObject(name);
        var pairs = new List<KeyValuePair<string, string?>>(section.AsEnumerable(makePathsRelative: true));
        pairs.Sort(static (a, b) => StringComparer.OrdinalIgnoreCase.Compare(a.Key, b.Key));
        foreach (var (key, value) in pairs)
        {
            if (value is not null)
            {
                json.WriteString(key, value);
            }
        }

        json.WriteEndObject();
    }
}

/// <summary>A block's typed settings for one cluster or route: its own block (null when unset) and the defaults.</summary>
internal sealed record ExtensionBlockOptions<TOptions>(TOptions? Own, TOptions Defaults)
    where TOptions : class;

/// <summary>
/// A block bound to <typeparamref name="TOptions"/>. Declare one static instance per block and register it with
/// <see cref="ExtensionBlockExtensions.AddExtensionBlock"/>; read settings with <see cref="Get"/>.
/// </summary>
internal sealed class ExtensionBlock<[System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicProperties)] TOptions>(
    ExtensionScope scope,
    string? name,
    string? defaultsSectionPath,
    Action<TOptions, IConfigurationSection, ICollection<string>>? validate = null,
    bool suppliesDestinations = false)
    : ExtensionBlock(scope, name, defaultsSectionPath, suppliesDestinations)
    where TOptions : class, IConfigBindable<TOptions>, new()
{
    private static readonly ExtensionBlockOptions<TOptions> Unset = new(null, new TOptions());

    [System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicProperties)]
    public override Type OptionsType => typeof(TOptions);

    // Keyed by the Metadata string itself: YARP and our config filters copy Metadata dictionaries, not their values, so
    // every request of a cluster config finds its entry, and an entry goes with the last config that held its string.
    private readonly ConditionalWeakTable<string, ExtensionBlockOptions<TOptions>> _parsed = [];

    /// <summary>The settings carried by a cluster's or route's Metadata (<c>ClusterConfig.Metadata</c>, <c>RouteConfig.Metadata</c>).</summary>
    public ExtensionBlockOptions<TOptions> Get(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null || !metadata.TryGetValue(MetadataKey, out var captured))
        {
            return Unset;
        }

        return _parsed.GetValue(captured, static text => Parse(text));
    }

    protected override void Validate(IConfigurationSection block, IConfiguration candidate, ICollection<string> errors)
    {
        TOptions options;
        try
        {
            options = TOptions.Read(block);
        }
        catch (InvalidOperationException ex)
        {
            errors.Add(ConfigErrors.FromBinder(ex, candidate, block.Path));
            return;
        }

        validate?.Invoke(options, block, errors);
    }

    private static ExtensionBlockOptions<TOptions> Parse(string captured)
    {
        using var document = JsonDocument.Parse(captured);
        var root = document.RootElement;
        try
        {
            return new ExtensionBlockOptions<TOptions>(
                root.TryGetProperty("own", out var own) ? Bind(own) : null,
                root.TryGetProperty("defaults", out var defaults) ? Bind(defaults) : new TOptions());
        }
        catch (InvalidOperationException)
        {
            // Validated before the config was accepted; never fail a request over it.
            return Unset;
        }
    }

    private static TOptions Bind(JsonElement pairs)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in pairs.EnumerateObject())
        {
            data[pair.Name] = pair.Value.GetString();
        }

        return TOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(data).Build());
    }
}

internal static class ExtensionBlockExtensions
{
    /// <summary>Declares a block: the config reader validates and carries it for every cluster or route.</summary>
    public static IServiceCollection AddExtensionBlock(this IServiceCollection services, ExtensionBlock block)
    {
        services.AddSingleton(block);
        return services;
    }
}
