using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Shutdown;

/// <summary>
/// The graceful-drain shutdown sequence, bound from <c>Gateway:Shutdown</c>. Kubernetes'
/// <c>terminationGracePeriodSeconds</c> must exceed <c>ReadinessDelay + DrainTimeout + PoolCloseTimeout</c> plus a margin.
/// </summary>
internal sealed class ShutdownOptions : IConfigBindable<ShutdownOptions>
{
    public static ShutdownOptions Read(IConfiguration section) => section.Get<ShutdownOptions>() ?? new();

    public const string SectionPath = "Gateway:Shutdown";

    /// <summary>
    /// Phase 2: after readiness turns 503, keep accepting and serving this long so the endpoint removal reaches every
    /// kube-proxy/ingress (default 00:00:05). Responses carry <c>Connection: close</c> meanwhile.
    /// </summary>
    public TimeSpan ReadinessDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Phase 3: stop accepting, then wait at most this long for in-flight requests (default 00:00:25).</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>Phase 4: upper bound for closing every upstream pool once requests are done (default 00:00:02).</summary>
    public TimeSpan PoolCloseTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan Total => ReadinessDelay + DrainTimeout + PoolCloseTimeout;
}

internal sealed class ShutdownOptionsValidator : IValidateOptions<ShutdownOptions>
{
    public ValidateOptionsResult Validate(string? name, ShutdownOptions options)
    {
        var errors = new List<string>();
        Check(options.ReadinessDelay, "ReadinessDelay", TimeSpan.Zero, errors);
        Check(options.DrainTimeout, "DrainTimeout", TimeSpan.Zero, errors);
        Check(options.PoolCloseTimeout, "PoolCloseTimeout", TimeSpan.Zero, errors);
        return ConfigErrors.ToResult(errors);
    }

    private static void Check(TimeSpan value, string key, TimeSpan min, List<string> errors)
    {
        if (value < min || value > TimeSpan.FromHours(1))
        {
            errors.Add(ConfigErrors.Invalid($"{ShutdownOptions.SectionPath}:{key}", value.ToString(), "must be between 00:00:00 and 01:00:00"));
        }
    }
}
