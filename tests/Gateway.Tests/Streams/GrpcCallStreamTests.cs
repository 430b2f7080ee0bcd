using System.Buffers.Binary;
using Gateway.Foundation;
using Gateway.Streams;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Streams;

public sealed class GrpcCallStreamTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public void TheTracker_IsAtABoundaryOnlyBetweenMessages_WhateverTheChunks(int chunk)
    {
        byte[] body = [.. Message(0), .. Message(7), .. Message(300)];
        int[] boundaries = [5, 5 + 12, body.Length];
        var tracker = new GrpcMessageTracker();
        for (var offset = 0; offset < body.Length; offset++)
        {
            // Fed in chunks; checked after each byte so every position is seen.
            if (offset % chunk == 0)
            {
                var piece = body.AsSpan(offset, Math.Min(chunk, body.Length - offset));
                var position = offset;
                foreach (var b in piece)
                {
                    tracker.Advance([b]);
                    position++;
                    Assert.Equal(boundaries.Contains(position), tracker.AtBoundary);
                }
            }
        }
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("APPLICATION/GRPC+json", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/grpc-web+proto", false)]
    [InlineData("application/grpcx", false)]
    [InlineData("application/json", false)]
    public void OnlyGrpcResponses_AreTracked_NotGrpcWeb(string mediaType, bool expected) =>
        Assert.Equal(expected, OpenStreamTransform.IsGrpc(mediaType));

    [Fact]
    public async Task Closed_BetweenMessages_TheBodyEnds_AndTheCallIsMarkedForTheUnavailableTrailers()
    {
        var registry = new OpenStreams();
        var context = new DefaultHttpContext();
        var upstream = new StallingStream(Message(2));
        var call = new GrpcCallStream(upstream, context, registry).Open();
        var buffer = new byte[64];

        Assert.Equal(7, await call.ReadAsync(buffer));
        Assert.Equal(0, registry.EndlessCount); // a gRPC call never makes the drain exit early
        Assert.Equal(1, registry.Count);
        var stalled = call.ReadAsync(buffer).AsTask();
        await ((GrpcCallStream)call).CloseAsync();

        Assert.Equal(0, await stalled.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(((GrpcCallStream)call).ClosedByGateway);
        await call.DisposeAsync();
        Assert.Equal(0, registry.Count);
    }

    private static byte[] Message(int length)
    {
        var message = new byte[5 + length];
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(1), (uint)length);
        return message;
    }

    /// <summary>Returns its bytes, then waits for the next read to be cancelled (an idle upstream between messages).</summary>
    private sealed class StallingStream(byte[] first) : MemoryStream(first)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await base.ReadAsync(buffer, cancellationToken);
            if (read > 0)
            {
                return read;
            }

            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }
    }
}
