using System.Text.Json.Nodes;
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.SharedState;

/// <summary>Redis endpoints (never the password) or single-replica mode.</summary>
internal sealed class RedisSummaryPart(IOptionsMonitor<RedisOptions> options) : IStartupSummaryPart
{
    public void Describe(JsonObject summary)
    {
        var redis = options.CurrentValue;
        if (string.IsNullOrEmpty(redis.Configuration))
        {
            summary["redis"] = "off (single replica, in-memory state)";
            return;
        }

        var endpoints = new JsonArray();
        foreach (var endpoint in StackExchange.Redis.ConfigurationOptions.Parse(redis.Configuration).EndPoints)
        {
            endpoints.Add((JsonNode?)(endpoint is System.Net.DnsEndPoint dns ? $"{dns.Host}:{dns.Port}" : endpoint.ToString()));
        }

        summary["redis"] = new JsonObject { ["endpoints"] = endpoints, ["keyPrefix"] = redis.KeyPrefix };
    }
}
