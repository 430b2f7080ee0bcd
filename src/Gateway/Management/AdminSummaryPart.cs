using System.Text.Json.Nodes;
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>Whether the admin API exists (never the token).</summary>
internal sealed class AdminSummaryPart(IOptionsMonitor<AdminOptions> options) : IStartupSummaryPart
{
    public void Describe(JsonObject summary) => summary["admin"] = string.IsNullOrEmpty(options.CurrentValue.Token) ? "off" : "on";
}
