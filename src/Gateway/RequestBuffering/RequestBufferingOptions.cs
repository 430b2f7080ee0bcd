using Gateway.Foundation;

namespace Gateway.RequestBuffering;

/// <summary>
/// A route's request buffering, <c>ReverseProxy:Routes:&lt;id&gt;:RequestBuffering</c> (nginx's
/// <c>proxy_request_buffering</c>): the whole body is read before anything is sent upstream. Off by default.
/// </summary>
internal sealed class RequestBufferingOptions : IConfigBindable<RequestBufferingOptions>
{
    public static RequestBufferingOptions Read(IConfiguration section) => section.Get<RequestBufferingOptions>() ?? new();

    public const string BlockName = "RequestBuffering";

    /// <summary>Upper bound for <see cref="MaxBytes"/>: a buffered body is held until the upstream has it.</summary>
    public const long MaxBytesLimit = 256L * 1024 * 1024;

    public static readonly ExtensionBlock<RequestBufferingOptions> Block = new(ExtensionScope.Route, BlockName, defaultsSectionPath: null, Validate);

    public bool Enabled { get; set; }

    /// <summary>Largest body buffered (default 1 MiB); a larger one is refused with 413 before anything is sent upstream.</summary>
    public long MaxBytes { get; set; } = 1024 * 1024;

    private static void Validate(RequestBufferingOptions options, IConfigurationSection block, ICollection<string> errors)
    {
        if (options.MaxBytes < 1 || options.MaxBytes > MaxBytesLimit)
        {
            errors.Add(ConfigErrors.Invalid($"{block.Path}:MaxBytes", options.MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"must be between 1 and {MaxBytesLimit} (256 MiB)"));
        }
    }
}
