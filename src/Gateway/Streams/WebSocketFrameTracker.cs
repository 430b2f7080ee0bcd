// Follows WebSocket frame boundaries (RFC 6455 5.2) in one direction of a tunnel, so a close frame is only ever
// inserted between two frames. Control frames may sit between the fragments of a message (5.4), so any frame
// boundary will do; extensions such as permessage-deflate leave control frames alone.
namespace Gateway.Streams;

internal struct WebSocketFrameTracker
{
    private const int MaxHeaderLength = 14; // 2 + 8 (64-bit length) + 4 (mask key)

    private HeaderBytes _header;
    private int _headerLength;
    private long _payloadRemaining;

    /// <summary>Between two frames: a close frame may go next.</summary>
    public readonly bool AtBoundary => _headerLength == 0 && _payloadRemaining == 0;

    /// <summary>
    /// Follows <paramref name="data"/> and returns how much of it was taken: all of it, or, with
    /// <paramref name="stopAtBoundary"/>, only up to the first frame boundary (0 when already at one).
    /// </summary>
    public int Advance(ReadOnlySpan<byte> data, bool stopAtBoundary)
    {
        var i = 0;
        while (i < data.Length)
        {
            if (_payloadRemaining > 0)
            {
                var take = (int)Math.Min(_payloadRemaining, data.Length - i);
                i += take;
                _payloadRemaining -= take;
                if (_payloadRemaining == 0 && stopAtBoundary)
                {
                    return i;
                }

                continue;
            }

            if (stopAtBoundary && _headerLength == 0)
            {
                return i;
            }

            _header[_headerLength++] = data[i++];
            if (_headerLength >= 2 && _headerLength == HeaderLength())
            {
                _payloadRemaining = PayloadLength();
                _headerLength = 0;
                if (_payloadRemaining == 0 && stopAtBoundary)
                {
                    return i;
                }
            }
        }

        return i;
    }

    private readonly int HeaderLength()
    {
        var length7 = _header[1] & 0x7F;
        var extended = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
        var mask = (_header[1] & 0x80) != 0 ? 4 : 0;
        return 2 + extended + mask;
    }

    private readonly long PayloadLength()
    {
        var length7 = _header[1] & 0x7F;
        if (length7 < 126)
        {
            return length7;
        }

        var bytes = length7 == 126 ? 2 : 8;
        long length = 0;
        for (var i = 0; i < bytes; i++)
        {
            length = (length << 8) | _header[2 + i];
        }

        return length & long.MaxValue;
    }

    [System.Runtime.CompilerServices.InlineArray(MaxHeaderLength)]
    private struct HeaderBytes
    {
        private byte _first;
    }
}
