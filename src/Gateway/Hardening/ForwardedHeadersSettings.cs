using System.Net;
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Hardening;

/// <summary>
/// Which peers may tell the gateway who the client is, bound from <c>Gateway:ForwardedHeaders</c> (read at start).
/// Empty (the default): nobody; <c>X-Forwarded-*</c> from clients is replaced with what the gateway saw.
/// </summary>
internal sealed class ForwardedHeadersSettings : IConfigBindable<ForwardedHeadersSettings>
{
    public static ForwardedHeadersSettings Read(IConfiguration section) => section.Get<ForwardedHeadersSettings>() ?? new();

    public const string SectionPath = "Gateway:ForwardedHeaders";

    /// <summary>CIDR networks of trusted proxies (e.g. <c>10.0.0.0/8</c>) whose <c>X-Forwarded-For/Proto/Host</c> are honoured.</summary>
    public string[] KnownNetworks { get; set; } = [];

    /// <summary>IP addresses of trusted proxies whose <c>X-Forwarded-For/Proto/Host</c> are honoured.</summary>
    public string[] KnownProxies { get; set; } = [];

    public bool TrustsAnyone => KnownNetworks.Length > 0 || KnownProxies.Length > 0;
}

internal sealed class ForwardedHeadersSettingsValidator : IValidateOptions<ForwardedHeadersSettings>
{
    public ValidateOptionsResult Validate(string? name, ForwardedHeadersSettings options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.KnownNetworks.Length; i++)
        {
            var value = options.KnownNetworks[i];
            var path = $"{ForwardedHeadersSettings.SectionPath}:KnownNetworks:{i}";
            if (!IPNetwork.TryParse(value, out var network))
            {
                errors.Add(ConfigErrors.Invalid(path, value, "is not a CIDR network with zero host bits (use \"10.0.0.0/8\" or \"fd00::/8\")"));
            }
            else if (network.PrefixLength == 0)
            {
                errors.Add(ConfigErrors.Invalid(path, value, "trusts every address, so any client could spoof X-Forwarded-For; list your proxies' networks"));
            }
        }

        for (var i = 0; i < options.KnownProxies.Length; i++)
        {
            var value = options.KnownProxies[i];
            if (!IPAddress.TryParse(value, out _) || value.Contains('/', StringComparison.Ordinal))
            {
                errors.Add(ConfigErrors.Invalid($"{ForwardedHeadersSettings.SectionPath}:KnownProxies:{i}", value, "is not an IP address (use \"10.1.2.3\"; networks go in KnownNetworks)"));
            }
        }

        return ConfigErrors.ToResult(errors);
    }
}
