// Parses PartitionBy ("ClientIp", "Header:<name>", "Route") once per settings change, not per request.
using Gateway.Foundation;

namespace Gateway.RateLimiting;

internal enum PartitionKind : byte
{
    ClientIp,
    Header,
    Route,
}

internal readonly record struct PartitionSpec(PartitionKind Kind, string? HeaderName)
{
    private const string HeaderPrefix = "Header:";

    public static bool TryParse(string? value, out PartitionSpec spec)
    {
        spec = default;
        if (string.Equals(value, "ClientIp", StringComparison.OrdinalIgnoreCase))
        {
            spec = new PartitionSpec(PartitionKind.ClientIp, null);
            return true;
        }

        if (string.Equals(value, "Route", StringComparison.OrdinalIgnoreCase))
        {
            spec = new PartitionSpec(PartitionKind.Route, null);
            return true;
        }

        if (value is not null && value.StartsWith(HeaderPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var name = value[HeaderPrefix.Length..].Trim();
            if (name.Length > 0 && HttpToken.IsToken(name))
            {
                spec = new PartitionSpec(PartitionKind.Header, name);
                return true;
            }
        }

        return false;
    }
}

/// <summary>The partition a request falls in: the kind keeps a header value from colliding with an IP or a route id.</summary>
internal readonly record struct PartitionKey(PartitionKind Kind, string Value);
