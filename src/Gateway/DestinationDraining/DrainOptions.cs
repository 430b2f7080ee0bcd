using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.DestinationDraining;

/// <summary>
/// Destination drain settings. Bound from <c>Gateway:Affinity</c> (drain keeps affinity sessions, and the key has
/// always lived there). Read at start only.
/// </summary>
internal sealed class DrainOptions : IConfigBindable<DrainOptions>
{
    public static DrainOptions Read(IConfiguration section) => section.Get<DrainOptions>() ?? new();

    public const string SectionPath = "Gateway:Affinity";

    /// <summary>How often a replica re-reads the shared drain marks from Redis besides pub/sub (default 30 s).</summary>
    public TimeSpan DrainResyncInterval { get; set; } = TimeSpan.FromSeconds(30);
}

internal sealed class DrainOptionsValidator : IValidateOptions<DrainOptions>
{
    public ValidateOptionsResult Validate(string? name, DrainOptions options) =>
        options.DrainResyncInterval < TimeSpan.FromSeconds(1) || options.DrainResyncInterval > TimeSpan.FromHours(1)
            ? ValidateOptionsResult.Fail(ConfigErrors.Invalid($"{DrainOptions.SectionPath}:DrainResyncInterval", options.DrainResyncInterval.ToString(), "must be between 00:00:01 and 01:00:00"))
            : ValidateOptionsResult.Success;
}
