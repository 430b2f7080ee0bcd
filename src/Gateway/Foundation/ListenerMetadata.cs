namespace Gateway.Foundation;

/// <summary>Endpoint metadata: which listener may serve this endpoint (the management listener's matcher policy reads it).</summary>
internal sealed class ListenerMetadata(bool management)
{
    public static readonly ListenerMetadata Management = new(true);
    public static readonly ListenerMetadata Proxy = new(false);

    /// <summary>The Kestrel endpoint name of the proxy listener (<c>Kestrel:Endpoints:Proxy</c>).</summary>
    public const string ProxyEndpointName = "Proxy";

    /// <summary>The Kestrel endpoint name of the management listener (<c>Kestrel:Endpoints:Management</c>).</summary>
    public const string ManagementEndpointName = "Management";

    public bool IsManagement { get; } = management;
}
