using System.Globalization;
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.AccessLog;

internal sealed class AccessLogOptionsValidator : IValidateOptions<AccessLogOptions>
{
    public const int MaxBufferSize = 1 << 20;

    /// <summary>Headers that carry credentials: never written, whatever the allow-list says.</summary>
    internal static readonly string[] Redacted = ["Cookie", "Set-Cookie", "Authorization", "Proxy-Authorization"];

    public ValidateOptionsResult Validate(string? name, AccessLogOptions options)
    {
        var errors = new List<string>();
        const string path = AccessLogOptions.SectionPath;
        var rate = options.SampleRate;
        if (double.IsNaN(rate) || rate < 0 || rate > 1)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:SampleRate", rate.ToString(CultureInfo.InvariantCulture),
                "must be between 0 and 1 (0.1 logs one success in ten; errors are always logged)"));
        }

        for (var i = 0; i < options.Fields.Length; i++)
        {
            if (AccessLogFields.Parse(options.Fields[i]) == AccessLogField.None)
            {
                errors.Add(ConfigErrors.Invalid($"{path}:Fields:{i}", options.Fields[i], $"is not an access-log field ({AccessLogFields.Names})"));
            }
        }

        for (var i = 0; i < options.Headers.Length; i++)
        {
            var header = options.Headers[i];
            if (!HttpToken.IsToken(header))
            {
                errors.Add(ConfigErrors.Invalid($"{path}:Headers:{i}", header, "is not a header name"));
            }
            else if (Array.Exists(Redacted, r => string.Equals(r, header, StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add(ConfigErrors.Invalid($"{path}:Headers:{i}", header,
                    "is never logged: it carries credentials (Cookie, Set-Cookie, Authorization and Proxy-Authorization are always left out)"));
            }
        }

        if (options.BufferSize is < 1 or > MaxBufferSize)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:BufferSize", options.BufferSize.ToString(CultureInfo.InvariantCulture),
                $"must be between 1 and {MaxBufferSize} (lines waiting for stdout)"));
        }

        return ConfigErrors.ToResult(errors);
    }
}
