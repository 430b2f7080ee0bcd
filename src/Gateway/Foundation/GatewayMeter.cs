namespace Gateway.Foundation;

/// <summary>The name of the gateway's own meter; every capability creates its instruments on it.</summary>
internal static class GatewayMeter
{
    public const string Name = "Gateway";
}
