// Kestrel's socket transport settings from config, so they can be measured and set per deployment (issue 19's A/B):
// Kestrel binds none of SocketTransportOptions from configuration.
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Transport;

/// <summary><c>Gateway:Transport</c>: Kestrel's socket transport; unset keeps Kestrel's default. Read at start.</summary>
internal sealed class TransportOptions : IConfigBindable<TransportOptions>
{
    public static TransportOptions Read(IConfiguration section) => section.Get<TransportOptions>() ?? new();

    public const string SectionPath = "Gateway:Transport";

    /// <summary>I/O queues that run socket continuations; 0 runs them on the thread pool. Kestrel's default: the core count (at most 16).</summary>
    public int? IOQueueCount { get; set; }

    /// <summary>Run socket continuations inline on the I/O thread instead of queueing them (Kestrel default false).</summary>
    public bool? UnsafePreferInlineScheduling { get; set; }

    /// <summary>Wait for data before renting a read buffer, so idle connections hold no buffer (Kestrel default true).</summary>
    public bool? WaitForDataBeforeAllocatingBuffer { get; set; }
}

internal sealed class TransportOptionsValidator : IValidateOptions<TransportOptions>
{
    public ValidateOptionsResult Validate(string? name, TransportOptions options) =>
        options.IOQueueCount is < 0 or > 64
            ? ValidateOptionsResult.Fail(ConfigErrors.Invalid($"{TransportOptions.SectionPath}:IOQueueCount", options.IOQueueCount.ToString(), "must be between 0 and 64"))
            : ValidateOptionsResult.Success;
}
