// Turns binder exceptions and bad values into "key:path: 'value' problem" messages.
using System.Globalization;
using System.Text.RegularExpressions;

namespace Gateway.Foundation;

internal static partial class ConfigErrors
{
    public static string Invalid(string path, string? value, string problem) => $"{path}: '{value}' {problem}";

    public static string Required(string path, string what) => $"{path}: {what} is required";

    /// <summary>Adds an error when a set duration is zero or negative.</summary>
    public static void CheckPositive(TimeSpan? value, string path, ICollection<string> errors)
    {
        if (value is { } v && v <= TimeSpan.Zero)
        {
            errors.Add(Invalid(path, v.ToString(), "must be greater than 00:00:00"));
        }
    }

    /// <summary>An interval setting's validation result: <paramref name="value"/> must lie between <paramref name="min"/> and <paramref name="max"/>.</summary>
    public static Microsoft.Extensions.Options.ValidateOptionsResult Between(string path, TimeSpan value, TimeSpan min, TimeSpan max) =>
        value < min || value > max
            ? Microsoft.Extensions.Options.ValidateOptionsResult.Fail(Invalid(path, value.ToString(), $"must be between {min:c} and {max:c}"))
            : Microsoft.Extensions.Options.ValidateOptionsResult.Success;

    /// <summary>
    /// The entry names of a dictionary section (policies, schemes), each entry bound alone as
    /// <typeparamref name="TOptions"/>: the binder skips a dictionary entry it cannot bind instead of failing, so binding
    /// the whole section would drop a bad entry without a word.
    /// </summary>
    public static List<string> BindEach<TOptions>(IConfigurationSection section, IConfiguration candidate, ICollection<string> errors)
        where TOptions : class, IConfigBindable<TOptions>, new()
    {
        var names = new List<string>();
        foreach (var entry in section.GetChildren())
        {
            names.Add(entry.Key);
            try
            {
                TOptions.Read(entry);
            }
            catch (InvalidOperationException ex)
            {
                errors.Add(FromBinder(ex, candidate, entry.Path));
            }
        }

        return names;
    }

    /// <summary><c>path: 'value' names no {what} under {sectionPath} (known: a, b; names are case-sensitive{note})</c>.</summary>
    public static string UnknownName(string path, string value, string what, string sectionPath, IEnumerable<string> known, string? note = null)
    {
        var sorted = known.Order(StringComparer.Ordinal).ToList();
        var list = sorted.Count == 0 ? "none defined" : "known: " + string.Join(", ", sorted);
        return Invalid(path, value, $"names no {what} under {sectionPath} ({list}; names are case-sensitive{note})");
    }

    /// <summary>The options-validation result for a list of key-path messages.</summary>
    public static Microsoft.Extensions.Options.ValidateOptionsResult ToResult(List<string> errors) =>
        errors.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(errors);

    /// <summary>The binder names the path and type; we add the value and how to write it correctly.</summary>
    public static string FromBinder(InvalidOperationException ex, IConfiguration config) => FromBinder(ex, config, sectionPath: null);

    /// <summary>
    /// As above; when the binder names no path (e.g. an object or array where text belongs: "Cannot create instance
    /// of type 'System.String'"), the message starts with <paramref name="sectionPath"/>, the block being bound.
    /// </summary>
    public static string FromBinder(InvalidOperationException ex, IConfiguration config, string? sectionPath)
    {
        for (Exception? current = ex; current is not null; current = current.InnerException)
        {
            var match = BinderPath().Match(current.Message);
            if (match.Success)
            {
                var path = match.Groups["path"].Value;
                var type = match.Groups["type"].Value;
                return Invalid(path, config[path], Expectation(type));
            }
        }

        return sectionPath is null
            ? ex.Message
            : $"{sectionPath}: a value in this block has the wrong shape (an object or array where a single value belongs?): {ex.Message}";
    }

    public static string Expectation(string typeName)
    {
        var shortName = typeName.Replace("System.Nullable`1[[", string.Empty, StringComparison.Ordinal);
        var comma = shortName.IndexOf(',', StringComparison.Ordinal);
        if (comma > 0)
        {
            shortName = shortName[..comma];
        }

        return shortName switch
        {
            "System.TimeSpan" => "is not a TimeSpan (use \"00:01:30\" for 90 seconds)",
            "System.Int32" or "System.Int64" => "is not a whole number",
            "System.Boolean" => "is not true or false",
            "System.Double" => "is not a number",
            "System.Version" => "is not a version (use \"1.1\", \"2\" or \"3\")",
            "System.Uri" => "is not a URI",
            _ when shortName.StartsWith("System.", StringComparison.Ordinal) => $"is not a valid {shortName["System.".Length..]}",
            _ => $"is not one of the allowed values of {shortName[(shortName.LastIndexOf('.') + 1)..]}{EnumValues(shortName)}",
        };
    }

    // Best effort for an error message: a type the trimmer removed is not found, and the message goes without the list.
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2057", Justification = "A type not found leaves the list out; nothing else depends on it.")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "A type not found leaves the list out; nothing else depends on it.")]
    private static string EnumValues(string typeName)
    {
        var type = Type.GetType(typeName) ?? AppDomain.CurrentDomain.GetAssemblies()
            .Select(a => a.GetType(typeName, throwOnError: false)).FirstOrDefault(t => t is not null);
        return type is { IsEnum: true }
            ? string.Create(CultureInfo.InvariantCulture, $" ({string.Join(", ", Enum.GetNames(type))})")
            : string.Empty;
    }

    [GeneratedRegex("at '(?<path>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex BinderPath();
}
