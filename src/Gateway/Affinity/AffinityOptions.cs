using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Affinity;

/// <summary>
/// Session-affinity key ring settings, bound from <c>Gateway:Affinity</c>. Read at start only (the key ring
/// cannot change under a running process). Per-cluster cookie settings stay in YARP's <c>SessionAffinity</c> block.
/// </summary>
internal sealed class AffinityOptions : IConfigBindable<AffinityOptions>
{
    public static AffinityOptions Read(IConfiguration section) => section.Get<AffinityOptions>() ?? new();

    public const string SectionPath = "Gateway:Affinity";

    /// <summary>
    /// Data Protection application name (default <c>gateway</c>). Replicas that must read each other's affinity
    /// cookies need the same name and the same key ring.
    /// </summary>
    public string ApplicationName { get; set; } = "gateway";

    /// <summary>
    /// Directory for a local key ring when <c>Gateway:Redis:Configuration</c> is not set. Unset: ASP.NET Core's
    /// default (<c>~/.aspnet/DataProtection-Keys</c> when the home directory is writable, otherwise in memory only).
    /// Ignored when Redis is configured: the key ring then lives in Redis.
    /// </summary>
    public string? KeyRingDirectory { get; set; }
}

internal sealed class AffinityOptionsValidator : IValidateOptions<AffinityOptions>
{
    public ValidateOptionsResult Validate(string? name, AffinityOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ApplicationName))
        {
            errors.Add(ConfigErrors.Required($"{AffinityOptions.SectionPath}:ApplicationName", "a Data Protection application name"));
        }

        if (options.KeyRingDirectory is { } directory && (directory.Trim().Length == 0 || !Path.IsPathFullyQualified(directory)))
        {
            errors.Add(ConfigErrors.Invalid($"{AffinityOptions.SectionPath}:KeyRingDirectory", directory, "is not an absolute directory path"));
        }

        return ConfigErrors.ToResult(errors);
    }
}
