// What a line holds, compiled once from validated options (and again on each reload): the per-request step reads one
// reference, never the options.
using System.Text.Json;

namespace Gateway.AccessLog;

internal sealed class AccessLogSettings
{
    public AccessLogSettings(AccessLogOptions options)
    {
        var fields = AccessLogField.None;
        foreach (var name in options.Fields)
        {
            fields |= AccessLogFields.Parse(name);
        }

        Fields = fields == AccessLogField.None ? AccessLogFields.Every : fields;
        SampleRate = double.IsNaN(options.SampleRate) ? 1 : Math.Clamp(options.SampleRate, 0, 1);
        IncludeQuery = options.IncludeQuery;

        var names = new List<string>(options.Headers.Length);
        foreach (var header in options.Headers)
        {
            // The validator refuses these; a config that skipped it must still never log them.
            if (!string.IsNullOrWhiteSpace(header) && !Array.Exists(AccessLogOptionsValidator.Redacted, r => string.Equals(r, header, StringComparison.OrdinalIgnoreCase))
                && !names.Exists(n => string.Equals(n, header, StringComparison.OrdinalIgnoreCase)))
            {
                names.Add(header.Trim());
            }
        }

        HeaderNames = [.. names];
        HeaderKeys = Array.ConvertAll(HeaderNames, static n => JsonEncodedText.Encode(n.ToLowerInvariant()));
    }

    public AccessLogField Fields { get; }

    public double SampleRate { get; }

    public bool IncludeQuery { get; }

    /// <summary>The allow-listed request headers, as configured (lookups are case-insensitive).</summary>
    public string[] HeaderNames { get; }

    /// <summary>Their keys inside <c>headers</c>: lower case, as HTTP/2 writes them.</summary>
    public JsonEncodedText[] HeaderKeys { get; }

    public bool Has(AccessLogField field) => (Fields & field) != 0;

    /// <summary>Whether a successful request is logged: every one at 1, none at 0.</summary>
    public bool SampleSuccess() => SampleRate >= 1 || (SampleRate > 0 && Random.Shared.NextDouble() < SampleRate);
}
