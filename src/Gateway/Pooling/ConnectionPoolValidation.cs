// Range checks for pool settings, shared by the defaults block and every cluster's block.
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Pooling;

internal static class ConnectionPoolValidation
{
    /// <summary>A cluster's own <c>ConnectionPool</c> block: the ranges, and no keys that only the defaults may hold.</summary>
    public static void ValidateClusterBlock(ConnectionPoolOptions options, string path, ICollection<string> errors)
    {
        Validate(options, path, errors);
        if (options.RetirementGracePeriod is not null)
        {
            errors.Add($"{path}:RetirementGracePeriod: only allowed in {ConnectionPoolOptions.DefaultsSectionPath}");
        }
    }

    public static void Validate(ConnectionPoolOptions options, string path, ICollection<string> errors)
    {
        if (options.MaxConnectionsPerServer is < 1)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MaxConnectionsPerServer", options.MaxConnectionsPerServer.ToString(), "must be at least 1"));
        }

        if (options.MaxResponseHeadersLength is < 1 or > 1024)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MaxResponseHeadersLength", options.MaxResponseHeadersLength.ToString(), "must be between 1 and 1024 (KiB)"));
        }

        ConfigErrors.CheckPositive(options.IdleTimeout, $"{path}:IdleTimeout", errors);
        ConfigErrors.CheckPositive(options.Lifetime, $"{path}:Lifetime", errors);
        ConfigErrors.CheckPositive(options.ConnectTimeout, $"{path}:ConnectTimeout", errors);
        ConfigErrors.CheckPositive(options.KeepAlivePingDelay, $"{path}:KeepAlivePingDelay", errors);
        ConfigErrors.CheckPositive(options.KeepAlivePingTimeout, $"{path}:KeepAlivePingTimeout", errors);
        ConfigErrors.CheckPositive(options.RetirementGracePeriod, $"{path}:RetirementGracePeriod", errors);
        if (options.ResponseDrainTimeout is { } drain && drain < TimeSpan.Zero)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:ResponseDrainTimeout", drain.ToString(), "must not be negative"));
        }
    }
}

internal sealed class ConnectionPoolOptionsValidator : IValidateOptions<ConnectionPoolOptions>
{
    public ValidateOptionsResult Validate(string? name, ConnectionPoolOptions options)
    {
        var errors = new List<string>();
        ConnectionPoolValidation.Validate(options, ConnectionPoolOptions.DefaultsSectionPath, errors);
        return ConfigErrors.ToResult(errors);
    }
}
