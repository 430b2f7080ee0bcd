using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Gateway.Discovery;

/// <summary>DNS record types this resolver asks for (RFC 1035 §3.2.2, RFC 3596).</summary>
internal enum DnsRecordType : ushort
{
    A = 1,
    CName = 5,
    Aaaa = 28,
}

/// <summary>RCODE (RFC 1035 §4.1.1).</summary>
internal enum DnsResponseCode
{
    NoError = 0,
    FormatError = 1,
    ServerFailure = 2,
    NameError = 3,
    NotImplemented = 4,
    Refused = 5,
}

internal sealed record DnsAddressRecord(IPAddress Address, TimeSpan Ttl);

/// <summary>A parsed answer: the addresses of the asked name (CNAME chains followed), or the response code that says why none.</summary>
internal sealed record DnsResponse(DnsResponseCode Code, bool Truncated, IReadOnlyList<DnsAddressRecord> Addresses);

/// <summary>The bad bytes of a DNS message.</summary>
internal sealed class DnsFormatException(string message) : FormatException(message);

/// <summary>
/// The part of RFC 1035 a resolver needs: a one-question query (RD set), and a response's header and answer section,
/// with name compression, CNAME chains and TTLs. Nothing else (no EDNS, no DNSSEC).
/// </summary>
internal static class DnsMessage
{
    private const int HeaderLength = 12;
    private const ushort ClassInternet = 1;
    private const int MaxPointerJumps = 64;

    /// <summary>Writes a query for <paramref name="name"/>/<paramref name="type"/> with id <paramref name="id"/>.</summary>
    public static byte[] BuildQuery(ushort id, string name, DnsRecordType type)
    {
        var labels = name.TrimEnd('.').Split('.');
        var length = HeaderLength + 1 + 4;
        foreach (var label in labels)
        {
            var bytes = Encoding.ASCII.GetByteCount(label);
            if (bytes is 0 or > 63)
            {
                throw new ArgumentException($"'{name}' is not a valid DNS name (label '{label}')", nameof(name));
            }

            length += 1 + bytes;
        }

        if (length - HeaderLength - 4 > 255)
        {
            throw new ArgumentException($"'{name}' is longer than 255 bytes", nameof(name));
        }

        var message = new byte[length];
        var span = message.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(span, id);
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], 0x0100); // standard query, recursion desired
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], 1); // QDCOUNT
        var offset = HeaderLength;
        foreach (var label in labels)
        {
            var written = Encoding.ASCII.GetBytes(label, span[(offset + 1)..]);
            span[offset] = (byte)written;
            offset += 1 + written;
        }

        span[offset++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(span[offset..], (ushort)type);
        BinaryPrimitives.WriteUInt16BigEndian(span[(offset + 2)..], ClassInternet);
        return message;
    }

    /// <summary>The id of a message (to match a response to its query), or null if it is too short to have one.</summary>
    public static ushort? ReadId(ReadOnlySpan<byte> message) =>
        message.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(message) : null;

    /// <summary>
    /// Parses a response to the query (<paramref name="id"/>, <paramref name="name"/>, <paramref name="type"/>): the records of
    /// <paramref name="type"/> owned by the name or by a CNAME the answer chains it to. Throws <see cref="DnsFormatException"/>
    /// on anything malformed or not an answer to that question.
    /// </summary>
    public static DnsResponse ParseResponse(ReadOnlySpan<byte> message, ushort id, string name, DnsRecordType type)
    {
        if (message.Length < HeaderLength)
        {
            throw new DnsFormatException($"response of {message.Length} bytes is shorter than a header");
        }

        if (BinaryPrimitives.ReadUInt16BigEndian(message) != id)
        {
            throw new DnsFormatException("response id does not match the query");
        }

        var flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        if ((flags & 0x8000) == 0)
        {
            throw new DnsFormatException("message is a query, not a response");
        }

        var truncated = (flags & 0x0200) != 0;
        var code = (DnsResponseCode)(flags & 0x000F);
        var questions = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        var answers = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        var offset = HeaderLength;
        var asked = Normalize(name);
        for (var i = 0; i < questions; i++)
        {
            var question = ReadName(message, ref offset);
            Need(message, offset, 4);
            if (i == 0 && (question != asked || BinaryPrimitives.ReadUInt16BigEndian(message[offset..]) != (ushort)type))
            {
                throw new DnsFormatException($"response is for '{question}', not for '{asked}' {type}");
            }

            offset += 4;
        }

        var owners = new HashSet<string>(StringComparer.Ordinal) { asked };
        var cnames = new List<(string Owner, string Target)>();
        var records = new List<(string Owner, DnsAddressRecord Record)>();
        for (var i = 0; i < answers; i++)
        {
            var owner = ReadName(message, ref offset);
            Need(message, offset, 10);
            var rrType = (DnsRecordType)BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
            var rrClass = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
            var ttl = BinaryPrimitives.ReadUInt32BigEndian(message[(offset + 4)..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 8)..]);
            offset += 10;
            Need(message, offset, length);
            var data = message.Slice(offset, length);
            // RFC 2181 §8: a TTL with the top bit set is treated as zero.
            var lifetime = TimeSpan.FromSeconds(ttl > int.MaxValue ? 0 : ttl);
            if (rrClass == ClassInternet)
            {
                switch (rrType)
                {
                    case DnsRecordType.A when type == DnsRecordType.A && length == 4:
                    case DnsRecordType.Aaaa when type == DnsRecordType.Aaaa && length == 16:
                        records.Add((owner, new DnsAddressRecord(new IPAddress(data), lifetime)));
                        break;
                    case DnsRecordType.CName:
                        var at = offset;
                        cnames.Add((owner, ReadName(message, ref at)));
                        break;
                }
            }

            offset += length;
        }

        // Follow CNAMEs from the asked name, in whatever order the answer lists them.
        for (var added = true; added;)
        {
            added = false;
            foreach (var (owner, target) in cnames)
            {
                if (owners.Contains(owner) && owners.Add(target))
                {
                    added = true;
                }
            }
        }

        var addresses = records.Where(r => owners.Contains(r.Owner)).Select(r => r.Record).ToList();
        return new DnsResponse(code, truncated, addresses);
    }

    /// <summary>Reads a possibly compressed name (RFC 1035 §4.1.4) at <paramref name="offset"/>, which moves past it.</summary>
    internal static string ReadName(ReadOnlySpan<byte> message, ref int offset)
    {
        var name = new StringBuilder();
        var position = offset;
        var jumped = false;
        for (var jumps = 0; ;)
        {
            Need(message, position, 1);
            var length = message[position];
            switch (length & 0xC0)
            {
                case 0xC0:
                    Need(message, position, 2);
                    if (++jumps > MaxPointerJumps)
                    {
                        throw new DnsFormatException("name compression loops");
                    }

                    var pointer = ((length & 0x3F) << 8) | message[position + 1];
                    if (!jumped)
                    {
                        offset = position + 2;
                        jumped = true;
                    }

                    position = pointer;
                    continue;
                case 0x00 when length == 0:
                    if (!jumped)
                    {
                        offset = position + 1;
                    }

                    return name.Length == 0 ? "." : name.ToString();
                case 0x00:
                    Need(message, position + 1, length);
                    if (name.Length > 0)
                    {
                        name.Append('.');
                    }

                    name.Append(Encoding.ASCII.GetString(message.Slice(position + 1, length)).ToLowerInvariant());
                    if (name.Length > 255)
                    {
                        throw new DnsFormatException("name longer than 255 bytes");
                    }

                    position += 1 + length;
                    continue;
                default:
                    throw new DnsFormatException($"label type 0x{length & 0xC0:x2} is not supported");
            }
        }
    }

    private static string Normalize(string name) => name.TrimEnd('.').ToLowerInvariant();

    private static void Need(ReadOnlySpan<byte> message, int offset, int count)
    {
        if (offset < 0 || count < 0 || offset + count > message.Length)
        {
            throw new DnsFormatException("message ends inside a record");
        }
    }
}
