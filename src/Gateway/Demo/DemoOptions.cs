using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Demo;

/// <summary>Built-in demo upstreams for the quickstart, bound from <c>Gateway:Demo</c>.</summary>
internal sealed class DemoOptions : IConfigBindable<DemoOptions>
{
    public static DemoOptions Read(IConfiguration section) => section.Get<DemoOptions>() ?? new();

    public const string SectionPath = "Gateway:Demo";

    /// <summary>Start the demo upstreams. Unset: only in the Development environment.</summary>
    public bool? Enabled { get; set; }

    /// <summary>Where they listen; loopback only. The shipped config/gateway.json routes to these.</summary>
    public string[] Urls { get; set; } = ["http://127.0.0.1:5101", "http://127.0.0.1:5102"];
}

internal sealed class DemoOptionsValidator : IValidateOptions<DemoOptions>
{
    public ValidateOptionsResult Validate(string? name, DemoOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.Urls.Length; i++)
        {
            if (!Uri.TryCreate(options.Urls[i], UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || !uri.IsLoopback)
            {
                errors.Add(ConfigErrors.Invalid($"{DemoOptions.SectionPath}:Urls:{i}", options.Urls[i], "must be an http:// URL on loopback"));
            }
        }

        return ConfigErrors.ToResult(errors);
    }
}
