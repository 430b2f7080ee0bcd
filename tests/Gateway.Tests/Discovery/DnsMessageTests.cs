using System.Buffers.Binary;
using System.Net;
using System.Text;
using Gateway.Discovery;

namespace Gateway.Tests.Discovery;

public sealed class DnsMessageTests
{
    [Fact]
    public void BuildQuery_WritesHeaderRdQuestion_AsRfc1035Says()
    {
        var query = DnsMessage.BuildQuery(0x1234, "a.bc.", DnsRecordType.Aaaa);

        Assert.Equal(
            new byte[]
            {
                0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // id, RD, QDCOUNT 1
                0x01, (byte)'a', 0x02, (byte)'b', (byte)'c', 0x00, // a.bc
                0x00, 0x1C, 0x00, 0x01, // AAAA IN
            },
            query);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a..b")]
    [InlineData("this-label-is-longer-than-sixty-three-characters-which-dns-does-not-allow.example")]
    public void BuildQuery_RefusesNamesDnsCannotCarry(string name) =>
        Assert.Throws<ArgumentException>(() => DnsMessage.BuildQuery(1, name, DnsRecordType.A));

    [Fact]
    public void ParseResponse_FollowsACompressedCnameChain_AndKeepsOnlyTheAskedNamesRecords()
    {
        // orders.shop.svc -> CNAME web.shop.svc (compressed against the question) -> two A records owned by web.shop.svc
        // (owner a pointer into the CNAME's data); plus an A record for another name, which is not ours.
        var m = new MessageWriter(id: 0x0102, flags: 0x8180);
        m.Question("orders.shop.svc", DnsRecordType.A);
        var cnameData = m.Record(MessageWriter.At(12), DnsRecordType.CName, ttl: 300, w => w.Label("web").Pointer(12 + 7));
        m.Record(MessageWriter.At(cnameData), DnsRecordType.A, ttl: 30, w => w.Bytes(10, 0, 0, 5));
        m.Record(MessageWriter.At(cnameData), DnsRecordType.A, ttl: 10, w => w.Bytes(10, 0, 0, 6));
        m.Record(w => w.Label("other").Pointer(12 + 7), DnsRecordType.A, ttl: 5, w => w.Bytes(10, 9, 9, 9));

        var response = DnsMessage.ParseResponse(m.ToArray(answers: 4), 0x0102, "Orders.Shop.Svc.", DnsRecordType.A);

        Assert.Equal(DnsResponseCode.NoError, response.Code);
        Assert.False(response.Truncated);
        Assert.Equal(
            [new DnsAddressRecord(IPAddress.Parse("10.0.0.5"), TimeSpan.FromSeconds(30)), new DnsAddressRecord(IPAddress.Parse("10.0.0.6"), TimeSpan.FromSeconds(10))],
            response.Addresses);
    }

    [Fact]
    public void ParseResponse_ReadsAaaa_AndTreatsATtlWithTheTopBitSetAsZero()
    {
        var m = new MessageWriter(id: 9, flags: 0x8180);
        m.Question("v6.test", DnsRecordType.Aaaa);
        m.Record(MessageWriter.At(12), DnsRecordType.Aaaa, ttl: 0x80000000, w => w.Bytes(IPAddress.Parse("fd00::5").GetAddressBytes()));
        m.Record(MessageWriter.At(12), DnsRecordType.A, ttl: 60, w => w.Bytes(10, 0, 0, 1)); // wrong type for the question: ignored

        var response = DnsMessage.ParseResponse(m.ToArray(answers: 2), 9, "v6.test", DnsRecordType.Aaaa);

        Assert.Equal([new DnsAddressRecord(IPAddress.Parse("fd00::5"), TimeSpan.Zero)], response.Addresses);
    }

    [Theory]
    [InlineData(0x8183, 3, false)] // NXDOMAIN
    [InlineData(0x8182, 2, false)] // SERVFAIL
    [InlineData(0x8185, 5, false)] // REFUSED
    [InlineData(0x8380, 0, true)] // NOERROR, TC
    public void ParseResponse_ReportsTheCodeAndTheTruncationBit(int flags, int code, bool truncated)
    {
        var m = new MessageWriter(id: 5, flags: (ushort)flags);
        m.Question("gone.test", DnsRecordType.A);

        var response = DnsMessage.ParseResponse(m.ToArray(answers: 0), 5, "gone.test", DnsRecordType.A);

        Assert.Equal(((DnsResponseCode)code, truncated), (response.Code, response.Truncated));
        Assert.Empty(response.Addresses);
    }

    [Fact]
    public void ParseResponse_RefusesWhatIsNotTheAnswerToThisQuery()
    {
        var m = new MessageWriter(id: 5, flags: 0x8180);
        m.Question("a.test", DnsRecordType.A);
        var bytes = m.ToArray(answers: 0);

        Assert.Throws<DnsFormatException>(() => DnsMessage.ParseResponse(bytes, 6, "a.test", DnsRecordType.A)); // id
        Assert.Throws<DnsFormatException>(() => DnsMessage.ParseResponse(bytes, 5, "b.test", DnsRecordType.A)); // question
        Assert.Throws<DnsFormatException>(() => DnsMessage.ParseResponse(bytes, 5, "a.test", DnsRecordType.Aaaa)); // type
        Assert.Throws<DnsFormatException>(() => DnsMessage.ParseResponse(bytes.AsSpan(0, 11), 5, "a.test", DnsRecordType.A)); // short
        var query = DnsMessage.BuildQuery(5, "a.test", DnsRecordType.A);
        Assert.Throws<DnsFormatException>(() => DnsMessage.ParseResponse(query, 5, "a.test", DnsRecordType.A)); // QR clear
    }

    [Fact]
    public void ParseResponse_RefusesACompressionLoop_AndARecordCutShort()
    {
        var loop = new MessageWriter(id: 1, flags: 0x8180);
        loop.Question("a.test", DnsRecordType.A);
        var at = loop.Length;
        loop.Record(MessageWriter.At(at), DnsRecordType.A, ttl: 1, w => w.Bytes(1, 2, 3, 4)); // owner points at itself
        Assert.Throws<DnsFormatException>(() => DnsMessage.ParseResponse(loop.ToArray(answers: 1), 1, "a.test", DnsRecordType.A));

        var cut = new MessageWriter(id: 1, flags: 0x8180);
        cut.Question("a.test", DnsRecordType.A);
        cut.Record(MessageWriter.At(12), DnsRecordType.A, ttl: 1, w => w.Bytes(1, 2, 3, 4));
        var bytes = cut.ToArray(answers: 1);
        Assert.Throws<DnsFormatException>(() => DnsMessage.ParseResponse(bytes.AsSpan(0, bytes.Length - 2), 1, "a.test", DnsRecordType.A));
    }

    [Theory]
    [InlineData("127.0.0.1:5353", "127.0.0.1:5353")]
    [InlineData("10.96.0.10", "10.96.0.10:53")]
    [InlineData("[fd00::10]:5300", "[fd00::10]:5300")]
    [InlineData(" fd00::10 ", "[fd00::10]:53")]
    [InlineData("[fd00::10]", "[fd00::10]:53")]
    public void ParseServer_TakesIpOrIpPort(string text, string expected) =>
        Assert.Equal(IPEndPoint.Parse(expected), DnsServerLookup.ParseServer(text));

    [Theory]
    [InlineData("dns.local:53")]
    [InlineData("127.0.0.1:0")]
    [InlineData("")]
    public void ParseServer_RefusesAnythingElse(string text) =>
        Assert.Throws<FormatException>(() => DnsServerLookup.ParseServer(text));

    /// <summary>Writes DNS messages by hand, compression pointers included.</summary>
    private sealed class MessageWriter
    {
        private readonly List<byte> _bytes = [];
        private readonly ushort _id;
        private readonly ushort _flags;

        public MessageWriter(ushort id, ushort flags)
        {
            _id = id;
            _flags = flags;
            _bytes.AddRange(new byte[12]);
        }

        public int Length => _bytes.Count;

        public static Action<MessageWriter> At(int offset) => w => w.Pointer(offset);

        public void Question(string name, DnsRecordType type)
        {
            foreach (var label in name.Split('.'))
            {
                Label(label);
            }

            _bytes.Add(0);
            UInt16((ushort)type);
            UInt16(1);
        }

        /// <summary>Appends a record; returns the offset of its data.</summary>
        public int Record(Action<MessageWriter> owner, DnsRecordType type, uint ttl, Action<MessageWriter> data)
        {
            owner(this);
            UInt16((ushort)type);
            UInt16(1);
            var ttlBytes = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(ttlBytes, ttl);
            _bytes.AddRange(ttlBytes);
            var lengthAt = _bytes.Count;
            UInt16(0);
            var start = _bytes.Count;
            data(this);
            var length = _bytes.Count - start;
            _bytes[lengthAt] = (byte)(length >> 8);
            _bytes[lengthAt + 1] = (byte)length;
            return start;
        }

        public MessageWriter Label(string label)
        {
            _bytes.Add((byte)label.Length);
            _bytes.AddRange(Encoding.ASCII.GetBytes(label));
            return this;
        }

        public MessageWriter Pointer(int offset)
        {
            _bytes.Add((byte)(0xC0 | (offset >> 8)));
            _bytes.Add((byte)offset);
            return this;
        }

        public MessageWriter Bytes(params byte[] bytes)
        {
            _bytes.AddRange(bytes);
            return this;
        }

        public byte[] ToArray(int answers)
        {
            var bytes = _bytes.ToArray();
            BinaryPrimitives.WriteUInt16BigEndian(bytes, _id);
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), _flags);
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), 1);
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(6), (ushort)answers);
            return bytes;
        }

        private void UInt16(ushort value)
        {
            _bytes.Add((byte)(value >> 8));
            _bytes.Add((byte)value);
        }
    }
}
