// Builds "what the configuration would be if the file said X" without touching the live configuration.
namespace Gateway.Configuration;

internal static class ConfigurationSnapshot
{
    /// <summary>
    /// Flattens every provider of <paramref name="root"/> in precedence order, with <paramref name="replaced"/>'s data
    /// swapped for <paramref name="candidate"/>, so environment variables still override the file as they do live.
    /// </summary>
    public static IConfigurationRoot Build(
        IConfigurationRoot root, IConfigurationProvider replaced, IReadOnlyDictionary<string, string?> candidate)
    {
        var merged = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var provider in root.Providers)
        {
            if (ReferenceEquals(provider, replaced))
            {
                foreach (var pair in candidate)
                {
                    merged[pair.Key] = pair.Value;
                }
            }
            else
            {
                Flatten(provider, parentPath: null, merged);
            }
        }

        return new ConfigurationBuilder().AddInMemoryCollection(merged).Build();
    }

    private static void Flatten(IConfigurationProvider provider, string? parentPath, Dictionary<string, string?> into)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var key in provider.GetChildKeys([], parentPath))
        {
            if (!seen.Add(key))
            {
                continue;
            }

            var path = parentPath is null ? key : ConfigurationPath.Combine(parentPath, key);
            if (provider.TryGet(path, out var value) && value is not null)
            {
                into[path] = value;
            }

            Flatten(provider, path, into);
        }
    }
}
