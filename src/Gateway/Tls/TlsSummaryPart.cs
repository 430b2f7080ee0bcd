using System.Text.Json.Nodes;
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Tls;

/// <summary>The start-up summary's <c>tls</c> part: the poll interval and each cluster's Tls block (file paths, never a password).</summary>
internal sealed class TlsSummaryPart(IOptionsMonitor<TlsOptions> options, IConfiguration configuration) : IStartupSummaryPart
{
    public void Describe(JsonObject summary)
    {
        var clusters = new JsonObject();
        foreach (var cluster in configuration.GetSection("ReverseProxy:Clusters").GetChildren())
        {
            var tls = cluster.GetSection(UpstreamTlsOptions.BlockName);
            if (tls.Exists())
            {
                clusters[cluster.Key] = new JsonObject
                {
                    ["caFile"] = tls["CaFile"],
                    ["trustSystemStore"] = string.Equals(tls["TrustSystemStore"], "true", StringComparison.OrdinalIgnoreCase),
                    ["clientCertificate"] = tls["ClientCertificate:Path"],
                    ["serverName"] = tls["ServerName"],
                };
            }
        }

        summary["tls"] = new JsonObject { ["pollInterval"] = options.CurrentValue.PollInterval.ToString(), ["clusters"] = clusters };
    }
}
