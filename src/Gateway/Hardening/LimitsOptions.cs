using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Hardening;

/// <summary>
/// Request limits for the proxy listener, bound from <c>Gateway:Limits</c> and applied to Kestrel at start
/// (a reload validates them but a restart applies them: Kestrel reads its limits once).
/// </summary>
internal sealed record LimitsOptions : IConfigBindable<LimitsOptions>
{
    public static LimitsOptions Read(IConfiguration section) => section.Get<LimitsOptions>() ?? new();

    public const string SectionPath = "Gateway:Limits";

    /// <summary>Largest request body in bytes (default 10 MiB). A route overrides it with YARP's <c>MaxRequestBodySize</c> (-1: no limit).</summary>
    public long MaxRequestBodySize { get; set; } = 10 * 1024 * 1024;

    /// <summary>Largest request header block in bytes, request line excluded (default 32 KiB, at most 1 MiB).</summary>
    public int MaxRequestHeadersTotalSize { get; set; } = 32 * 1024;

    /// <summary>Most request headers (default 100).</summary>
    public int MaxRequestHeaderCount { get; set; } = 100;

    /// <summary>Longest request line (method, target, version) in bytes (default 8 KiB, at most 1 MiB).</summary>
    public int MaxRequestLineSize { get; set; } = 8 * 1024;

    /// <summary>Time a client has to send the whole header block (default 15 s); slow clients (slowloris) are disconnected.</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Minimum request body rate in bytes/s after the grace period (default 240; 0 turns the check off).</summary>
    public double MinRequestBodyDataRate { get; set; } = 240;

    /// <summary>How long a body may stay below <see cref="MinRequestBodyDataRate"/> before the client is disconnected (default 5 s, more than 1 s).</summary>
    public TimeSpan MinRequestBodyDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most open connections on the proxy listener (default 10000); more are closed at once. The management listener is not counted.</summary>
    public long MaxConcurrentConnections { get; set; } = 10_000;
}

internal sealed class LimitsOptionsValidator : IValidateOptions<LimitsOptions>
{
    // Kestrel refuses to start when the line or header limits exceed its request buffer (1 MiB by default).
    private const int MaxBufferedSize = 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, LimitsOptions options)
    {
        const string path = LimitsOptions.SectionPath;
        var errors = new List<string>();
        if (options.MaxRequestBodySize < 1)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MaxRequestBodySize", options.MaxRequestBodySize.ToString(), "must be at least 1 (bytes)"));
        }

        if (options.MaxRequestHeadersTotalSize is < 1024 or > MaxBufferedSize)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MaxRequestHeadersTotalSize", options.MaxRequestHeadersTotalSize.ToString(), "must be between 1024 and 1048576 (bytes)"));
        }

        if (options.MaxRequestHeaderCount is < 1 or > 10_000)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MaxRequestHeaderCount", options.MaxRequestHeaderCount.ToString(), "must be between 1 and 10000"));
        }

        if (options.MaxRequestLineSize is < 256 or > MaxBufferedSize)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MaxRequestLineSize", options.MaxRequestLineSize.ToString(), "must be between 256 and 1048576 (bytes)"));
        }

        if (options.RequestHeadersTimeout <= TimeSpan.Zero || options.RequestHeadersTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:RequestHeadersTimeout", options.RequestHeadersTimeout.ToString(), "must be between 00:00:00.001 and 00:10:00"));
        }

        if (!double.IsFinite(options.MinRequestBodyDataRate) || options.MinRequestBodyDataRate < 0)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MinRequestBodyDataRate", options.MinRequestBodyDataRate.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be 0 (off) or a positive number of bytes per second"));
        }

        // Kestrel checks rates once a second, so it rejects a grace period of 1 s or less.
        if (options.MinRequestBodyDataRateGracePeriod <= TimeSpan.FromSeconds(1) || options.MinRequestBodyDataRateGracePeriod > TimeSpan.FromMinutes(10))
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MinRequestBodyDataRateGracePeriod", options.MinRequestBodyDataRateGracePeriod.ToString(), "must be more than 00:00:01 and at most 00:10:00"));
        }

        if (options.MaxConcurrentConnections < 1)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MaxConcurrentConnections", options.MaxConcurrentConnections.ToString(), "must be at least 1"));
        }

        return ConfigErrors.ToResult(errors);
    }
}
