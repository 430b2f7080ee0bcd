using System.Text.Json.Nodes;
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Hardening;

/// <summary>The request limits Kestrel enforces.</summary>
internal sealed class LimitsSummaryPart(IOptions<LimitsOptions> options) : IStartupSummaryPart
{
    public void Describe(JsonObject summary)
    {
        var limits = options.Value;
        summary["limits"] = new JsonObject
        {
            ["maxRequestBodyBytes"] = limits.MaxRequestBodySize,
            ["maxRequestHeadersBytes"] = limits.MaxRequestHeadersTotalSize,
            ["maxRequestHeaderCount"] = limits.MaxRequestHeaderCount,
            ["maxRequestLineBytes"] = limits.MaxRequestLineSize,
            ["maxConcurrentConnections"] = limits.MaxConcurrentConnections,
        };
    }
}
