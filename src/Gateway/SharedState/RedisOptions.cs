using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.SharedState;

/// <summary>Shared state across replicas, bound from <c>Gateway:Redis</c>. Unset: single-replica mode, in-memory state.</summary>
internal sealed class RedisOptions : IConfigBindable<RedisOptions>
{
    public static RedisOptions Read(IConfiguration section) => section.Get<RedisOptions>() ?? new();

    public const string SectionPath = "Gateway:Redis";

    /// <summary>A StackExchange.Redis connection string, e.g. <c>redis:6379,password=...</c>. Never logged.</summary>
    public string? Configuration { get; set; }

    /// <summary>Prefix for every key and channel, so several gateways can share one Redis. Default <c>gateway</c>.</summary>
    public string KeyPrefix { get; set; } = "gateway";

    /// <summary>Upper bound for one Redis operation on the request path (default 50 ms); past it, features fall back to local behaviour.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(50);
}

internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        var errors = new List<string>();
        if (options.Configuration is { Length: > 0 } configuration)
        {
            try
            {
                StackExchange.Redis.ConfigurationOptions.Parse(configuration);
            }
            catch (ArgumentException)
            {
                // The connection string may hold a password: name the key, never the value.
                errors.Add($"{RedisOptions.SectionPath}:Configuration: is not a valid StackExchange.Redis connection string");
            }
        }

        if (options.OperationTimeout <= TimeSpan.Zero || options.OperationTimeout > TimeSpan.FromSeconds(10))
        {
            errors.Add(ConfigErrors.Invalid($"{RedisOptions.SectionPath}:OperationTimeout", options.OperationTimeout.ToString(), "must be between 00:00:00.001 and 00:00:10"));
        }

        if (string.IsNullOrWhiteSpace(options.KeyPrefix))
        {
            errors.Add(ConfigErrors.Required($"{RedisOptions.SectionPath}:KeyPrefix", "a key prefix"));
        }

        return ConfigErrors.ToResult(errors);
    }
}
