using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Shutdown;

/// <summary>The drain phases and the Kubernetes grace period they need (docs/shutdown-and-drain.md).</summary>
internal sealed class ShutdownSummaryPart(IOptionsMonitor<ShutdownOptions> options) : IStartupSummaryPart
{
    // The margin docs/shutdown-and-drain.md asks for beyond the phases (the host's own stop, the process exit).
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(5);

    public void Describe(JsonObject summary)
    {
        var shutdown = options.CurrentValue;
        summary["drain"] = new JsonObject
        {
            ["readinessDelay"] = shutdown.ReadinessDelay.ToString("c", CultureInfo.InvariantCulture),
            ["drainTimeout"] = shutdown.DrainTimeout.ToString("c", CultureInfo.InvariantCulture),
            ["poolCloseTimeout"] = shutdown.PoolCloseTimeout.ToString("c", CultureInfo.InvariantCulture),
            ["terminationGracePeriodSecondsAtLeast"] = (int)Math.Ceiling((shutdown.Total + Margin).TotalSeconds),
        };
    }
}
