// Checks for the defaults and for every route's Compression block, at start and on reload.
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Compression;

internal static class CompressionValidation
{
    public static void Validate(CompressionOptions options, string path, bool isRouteBlock, ICollection<string> errors)
    {
        if (options.MinimumBytes is < 0)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MinimumBytes", options.MinimumBytes.ToString(), "must be 0 or more"));
        }

        for (var i = 0; i < (options.MimeTypes?.Length ?? 0); i++)
        {
            var value = options.MimeTypes![i];
            var slash = value?.IndexOf('/', StringComparison.Ordinal) ?? -1;
            if (slash <= 0 || slash == value!.Length - 1 || value.AsSpan().ContainsAny(" ;,") || value.StartsWith('*'))
            {
                errors.Add(ConfigErrors.Invalid($"{path}:MimeTypes:{i}", value, "is not a media type (\"application/json\", or \"text/*\" for a whole type)"));
            }
        }

        if (options.Level is { } level && !Enum.IsDefined(level))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:Level", level.ToString(), "is not Fastest, Optimal, SmallestSize or NoCompression"));
        }
        else if (isRouteBlock && options.Level is not null)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:Level", options.Level.ToString(), $"applies to every route: set it in {CompressionOptions.DefaultsSectionPath}:Level"));
        }
    }
}

internal sealed class CompressionOptionsValidator : IValidateOptions<CompressionOptions>
{
    public ValidateOptionsResult Validate(string? name, CompressionOptions options)
    {
        var errors = new List<string>();
        CompressionValidation.Validate(options, CompressionOptions.DefaultsSectionPath, isRouteBlock: false, errors);
        return ConfigErrors.ToResult(errors);
    }
}
