// Finds and reads the gateway's config file; parsing errors become messages, never exceptions.
using System.Security.Cryptography;

namespace Gateway.Configuration;

/// <summary>One read of the config file: its content hash and flattened keys, or why it could not be read.</summary>
internal sealed record ConfigFileContent(byte[] Hash, IReadOnlyDictionary<string, string?>? Data, string? Error)
{
    public bool SameContentAs(ConfigFileContent? other) => other is not null && Hash.AsSpan().SequenceEqual(other.Hash);
}

internal static class GatewayConfigFile
{
    public const string DefaultRelativePath = "config/gateway.json";
    public const string EnvironmentVariable = "GATEWAY_CONFIG";

    /// <summary><c>--config PATH</c> (or <c>--validate PATH</c>) wins over <c>GATEWAY_CONFIG</c>, which wins over <c>config/gateway.json</c>.</summary>
    public static string Resolve(string[] args, Func<string, string?> getEnvironmentVariable)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if ((args[i] == "--config" || args[i] == ValidateCommand.Flag) && i + 1 < args.Length)
            {
                return Path.GetFullPath(args[i + 1]);
            }

            if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                return Path.GetFullPath(args[i]["--config=".Length..]);
            }
        }

        var fromEnvironment = getEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }

        // A published app runs from its own folder; `dotnet run --project src/Gateway` runs in the project folder,
        // two levels below the repo's config/ directory.
        var roots = new List<string> { Directory.GetCurrentDirectory(), AppContext.BaseDirectory };
        for (var parent = Directory.GetParent(Directory.GetCurrentDirectory()); parent is not null && roots.Count < 5; parent = parent.Parent)
        {
            roots.Add(parent.FullName);
        }

        foreach (var root in roots)
        {
            var candidate = Path.Combine(root, DefaultRelativePath);
            if (File.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return Path.GetFullPath(DefaultRelativePath);
    }

    /// <summary>Reads through symlinks (a ConfigMap mount is a symlink into <c>..data</c>).</summary>
    public static ConfigFileContent Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new ConfigFileContent([], null, $"{path}: cannot read the config file ({ex.Message})");
        }

        return Parse(bytes, path);
    }

    /// <summary>Parses config file bytes (a file's, or a dry run's request body); <paramref name="source"/> names them in errors.</summary>
    public static ConfigFileContent Parse(byte[] bytes, string source)
    {
        var path = source;
        var hash = SHA256.HashData(bytes);
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            var root = new ConfigurationBuilder().AddJsonStream(stream).Build();
            var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            foreach (var pair in root.AsEnumerable())
            {
                if (pair.Value is not null)
                {
                    data[pair.Key] = pair.Value;
                }
            }

            return new ConfigFileContent(hash, data, null);
        }
        catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException)
        {
            // Duplicate keys (e.g. two routes with one id) arrive here with the key path in the message.
            var detail = ex.InnerException is { } inner ? inner.Message : ex.Message;
            return new ConfigFileContent(hash, null, $"{path}: invalid JSON: {detail}");
        }
    }
}
