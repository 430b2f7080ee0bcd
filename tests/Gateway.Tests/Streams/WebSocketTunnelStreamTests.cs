using System.Buffers.Binary;
using System.IO.Pipelines;
using Gateway.Foundation;
using Gateway.Streams;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Streams;

public sealed class WebSocketTunnelStreamTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(5, false)]
    [InlineData(200, true)]      // 16-bit length
    [InlineData(70_000, true)]   // 64-bit length
    public void TheTracker_FindsEveryFrameBoundary_WhateverTheChunks(int payload, bool masked)
    {
        var frames = Concat(Frame(payload, masked), Frame(3, masked));
        var first = Frame(payload, masked).Length;

        foreach (var chunk in new[] { 1, 7, frames.Length })
        {
            var tracker = new WebSocketFrameTracker();
            var boundaries = new List<int>();
            for (var offset = 0; offset < frames.Length; offset += chunk)
            {
                var piece = frames.AsSpan(offset, Math.Min(chunk, frames.Length - offset));
                var taken = 0;
                while (taken < piece.Length)
                {
                    var step = tracker.Advance(piece[taken..], stopAtBoundary: true);
                    if (step == 0)
                    {
                        // At a boundary: what follows is a new frame.
                        step = tracker.Advance(piece.Slice(taken, 1), stopAtBoundary: false);
                    }

                    taken += step;
                    if (tracker.AtBoundary)
                    {
                        boundaries.Add(offset + taken);
                    }
                }
            }

            Assert.Equal([first, frames.Length], boundaries);
        }
    }

    [Fact]
    public async Task AClientFrameHalfWritten_WhenTheCloseComes_IsCompletedFirst_ThenTheUpstreamGetsAMasked1001_AndNothingAfter()
    {
        var (tunnel, upstream, _) = Create();
        var frame = Frame(100, masked: true);
        await tunnel.WriteAsync(frame.AsMemory(0, 40));

        await tunnel.CloseAsync().WaitAsync(Wait);
        Assert.Equal(40, upstream.Written.Length); // no close inside a frame

        await tunnel.WriteAsync(Concat(frame[40..], Frame(10, masked: true)));
        var written = upstream.Written.ToArray();
        Assert.Equal(frame, written[..frame.Length]);
        Assert.Equal(1001, MaskedCloseCode(written[frame.Length..]));

        await tunnel.WriteAsync(Frame(10, masked: true)); // the client's close reply, say: dropped
        Assert.Equal(written.Length, upstream.Written.Length);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // YARP first waits with a zero-byte read
    public async Task AReadWaitingBetweenFrames_WhenTheCloseComes_Returns1001ForTheClient_ThenTheEnd(bool zeroByteReadFirst)
    {
        var (tunnel, upstream, _) = Create();
        await upstream.ToGateway.WriteAsync(Frame(5, masked: false));
        var buffer = new byte[1024];
        Assert.Equal(7, await tunnel.ReadAsync(buffer));

        var pending = tunnel.ReadAsync(zeroByteReadFirst ? Memory<byte>.Empty : buffer).AsTask();
        Assert.False(pending.IsCompleted);
        await tunnel.CloseAsync().WaitAsync(Wait);

        var read = await pending.WaitAsync(Wait);
        if (zeroByteReadFirst)
        {
            Assert.Equal(0, read);
            read = await tunnel.ReadAsync(buffer).AsTask().WaitAsync(Wait);
        }

        Assert.Equal(0x88, buffer[0]);
        Assert.Equal(0, buffer[1] & 0x80); // server-to-client frames are not masked
        Assert.Equal(1001, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2)));
        Assert.Equal(2 + (buffer[1] & 0x7F), read);
        Assert.Equal(1001, MaskedCloseCode(upstream.Written.ToArray()));
        Assert.Equal(0, await tunnel.ReadAsync(buffer).AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task AnUpstreamFrameHalfRead_WhenTheCloseComes_IsDeliveredWhole_BeforeTheClientsClose()
    {
        var (tunnel, upstream, registry) = Create();
        var frame = Frame(50, masked: false);
        await upstream.ToGateway.WriteAsync(frame.AsMemory(0, 20));
        var buffer = new byte[1024];
        Assert.Equal(20, await tunnel.ReadAsync(buffer));
        Assert.Equal(1, registry.Count);

        await tunnel.CloseAsync().WaitAsync(Wait);
        await upstream.ToGateway.WriteAsync(Concat(frame[20..], Frame(5, masked: false)));

        Assert.Equal(frame.Length - 20, await tunnel.ReadAsync(buffer).AsTask().WaitAsync(Wait)); // the rest, not the next frame
        var close = await tunnel.ReadAsync(buffer).AsTask().WaitAsync(Wait);
        Assert.Equal(0x88, buffer[0]);
        Assert.Equal(1001, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2, close - 2)));

        await tunnel.DisposeAsync();
        Assert.Equal(0, registry.Count);
        Assert.True(tunnel.Ended.IsCompleted);
    }

    private static (WebSocketTunnelStream Tunnel, FakeUpstream Upstream, OpenStreams Registry) Create()
    {
        var registry = new OpenStreams();
        var upstream = new FakeUpstream();
        var tunnel = new WebSocketTunnelStream(upstream, new DefaultHttpContext(), registry);
        tunnel.Open();
        return (tunnel, upstream, registry);
    }

    private static byte[] Frame(int payload, bool masked)
    {
        var header = new List<byte> { 0x82 }; // FIN, binary
        var mask = masked ? 0x80 : 0;
        if (payload < 126)
        {
            header.Add((byte)(mask | payload));
        }
        else if (payload <= ushort.MaxValue)
        {
            header.Add((byte)(mask | 126));
            header.Add((byte)(payload >> 8));
            header.Add((byte)payload);
        }
        else
        {
            header.Add((byte)(mask | 127));
            for (var shift = 56; shift >= 0; shift -= 8)
            {
                header.Add((byte)((long)payload >> shift));
            }
        }

        if (masked)
        {
            header.AddRange([1, 2, 3, 4]);
        }

        return Concat([.. header], new byte[payload]);
    }

    private static int MaskedCloseCode(byte[] frame)
    {
        Assert.Equal(0x88, frame[0]);
        Assert.Equal(0x80, frame[1] & 0x80); // client-to-server frames must be masked
        var key = frame.AsSpan(2, 4);
        return ((frame[6] ^ key[0]) << 8) | (frame[7] ^ key[1]);
    }

    private static byte[] Concat(byte[] a, byte[] b) => [.. a, .. b];

    /// <summary>The upstream connection: what the gateway writes is kept, what the test writes is read.</summary>
    private sealed class FakeUpstream : Stream
    {
        private readonly Pipe _pipe = new();
        private readonly Stream _reader;

        public FakeUpstream() => _reader = _pipe.Reader.AsStream();

        public MemoryStream Written { get; } = new();

        public PipeWriter ToGateway => _pipe.Writer;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _reader.ReadAsync(buffer, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);
    }
}
