// What is in force, told by each capability about itself, so one start-up line (and GET /admin/config) can list it
// without a central file knowing every capability's options.
using System.Text.Json.Nodes;

namespace Gateway.Foundation;

internal interface IStartupSummaryPart
{
    /// <summary>Adds this capability's effective settings to <paramref name="summary"/> (one property; never a secret).</summary>
    void Describe(JsonObject summary);
}
