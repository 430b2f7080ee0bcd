using Gateway.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace Gateway.Tests.Transport;

public sealed class TransportOptionsTests
{
    [Fact]
    public async Task SetKeys_ReachKestrelsSocketTransport_AndUnsetOnesKeepKestrelsDefaults()
    {
        var kestrelDefaults = new SocketTransportOptions();
        await using var gateway = TestGateway.Start(TestGateway.Config()
            .Set("Gateway:Transport:IOQueueCount", 3)
            .Set("Gateway:Transport:UnsafePreferInlineScheduling", true));

        var socket = gateway.Get<IOptions<SocketTransportOptions>>().Value;

        Assert.Equal(3, socket.IOQueueCount);
        Assert.True(socket.UnsafePreferInlineScheduling);
        Assert.Equal(kestrelDefaults.WaitForDataBeforeAllocatingBuffer, socket.WaitForDataBeforeAllocatingBuffer);
    }

    [Fact]
    public async Task AnOutOfRangeQueueCount_IsRefused_WithItsKeyPathAndValue()
    {
        await using var gateway = TestGateway.Start(TestGateway.Config());
        var candidate = TestGateway.Config().Set("Gateway:Transport:IOQueueCount", -1);
        gateway.WriteConfig(candidate);

        var errors = gateway.Store.ValidateCandidate(GatewayConfigFile.Read(gateway.ConfigPath));

        Assert.Equal("Gateway:Transport:IOQueueCount: '-1' must be between 0 and 64", Assert.Single(errors));
    }
}
