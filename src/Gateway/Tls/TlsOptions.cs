using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Tls;

/// <summary>How certificate files are watched. Bound from <c>Gateway:Tls</c>.</summary>
internal sealed class TlsOptions : IConfigBindable<TlsOptions>
{
    public static TlsOptions Read(IConfiguration section) => section.Get<TlsOptions>() ?? new();

    public const string SectionPath = "Gateway:Tls";

    /// <summary>
    /// How often every certificate file (listeners' and clusters' <c>Tls</c> files) is re-read even without a file-system
    /// event: a Secret's <c>..data</c> swap or a network mount raises none on the file itself. Default 2 s.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);
}

internal sealed class TlsOptionsValidator : IValidateOptions<TlsOptions>
{
    public ValidateOptionsResult Validate(string? name, TlsOptions options) =>
        ConfigErrors.Between($"{TlsOptions.SectionPath}:PollInterval", options.PollInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
}
