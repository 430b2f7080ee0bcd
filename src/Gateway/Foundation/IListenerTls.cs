// TLS on a Kestrel endpoint, taken over by a capability (certificates that rotate without a restart). Gap: Kestrel's
// config loader reads an endpoint's certificate once, at start, with reloadOnChange off (listeners must never rebind).
using Microsoft.AspNetCore.Server.Kestrel;

namespace Gateway.Foundation;

internal interface IListenerTls
{
    /// <summary>
    /// Called for every endpoint under <c>Kestrel:Endpoints</c> after its connection middleware was added; an
    /// implementation that calls <c>ListenOptions.UseHttps</c> replaces Kestrel's own HTTPS set-up for that endpoint.
    /// </summary>
    void Configure(EndpointConfiguration endpoint);
}
