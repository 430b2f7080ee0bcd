using Gateway.Foundation;

namespace Gateway.Configuration;

/// <summary>How the config file is watched. Bound from <c>Gateway:Configuration</c>.</summary>
internal sealed class ConfigurationOptions : IConfigBindable<ConfigurationOptions>
{
    public static ConfigurationOptions Read(IConfiguration section) => section.Get<ConfigurationOptions>() ?? new();

    public const string SectionPath = "Gateway:Configuration";

    /// <summary>How often the file is re-read even without a file-system event (ConfigMap swaps, network mounts). Default 2 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Unknown keys under <c>Gateway</c> and in YARP's blocks refuse the config instead of being logged as warnings.</summary>
    public bool Strict { get; set; }
}

internal sealed class ConfigurationOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<ConfigurationOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, ConfigurationOptions options) =>
        options.PollInterval < TimeSpan.FromMilliseconds(100) || options.PollInterval > TimeSpan.FromHours(1)
            ? Microsoft.Extensions.Options.ValidateOptionsResult.Fail(ConfigErrors.Invalid($"{ConfigurationOptions.SectionPath}:PollInterval", options.PollInterval.ToString(), "must be between 00:00:00.1 and 01:00:00"))
            : Microsoft.Extensions.Options.ValidateOptionsResult.Success;
}
