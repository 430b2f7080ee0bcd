// Applies Gateway:Transport to Kestrel's socket transport.
using Gateway.Foundation;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace Gateway.Transport;

internal static class TransportExtensions
{
    public static IServiceCollection AddTransportSettings(this IServiceCollection services)
    {
        services.AddGatewayOptions<TransportOptions, TransportOptionsValidator>(TransportOptions.SectionPath);
        services.AddSingleton(new RestartRequiredSection(TransportOptions.SectionPath, "Kestrel's socket transport is built when it starts"));
        services.AddOptions<SocketTransportOptions>().Configure<IOptions<TransportOptions>>(static (socket, transportOptions) =>
        {
            var transport = transportOptions.Value;
            socket.IOQueueCount = transport.IOQueueCount ?? socket.IOQueueCount;
            socket.UnsafePreferInlineScheduling = transport.UnsafePreferInlineScheduling ?? socket.UnsafePreferInlineScheduling;
            socket.WaitForDataBeforeAllocatingBuffer = transport.WaitForDataBeforeAllocatingBuffer ?? socket.WaitForDataBeforeAllocatingBuffer;
        });
        return services;
    }
}
