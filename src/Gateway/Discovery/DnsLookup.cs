using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Gateway.Discovery;

/// <summary>Addresses of a name, and the smallest TTL among them when the source tells (the system resolver does not).</summary>
internal sealed record DnsLookupResult(IReadOnlyList<IPAddress> Addresses, TimeSpan? Ttl, string? Note = null);

/// <summary>A lookup that got no usable answer (timeouts, SERVFAIL, REFUSED, a malformed reply, a socket error).</summary>
internal sealed class DnsLookupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Looks a name's A and AAAA records up.</summary>
internal interface IDnsLookup
{
    Task<DnsLookupResult> LookupAsync(string name, CancellationToken cancellationToken);
}

/// <summary>The operating system's resolver (no TTLs, no choice of server).</summary>
internal sealed class SystemDnsLookup : IDnsLookup
{
    public async Task<DnsLookupResult> LookupAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(name, cancellationToken).ConfigureAwait(false);
            return new DnsLookupResult(addresses, null);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.HostNotFound or SocketError.NoData)
        {
            return new DnsLookupResult([], null, ex.SocketErrorCode == SocketError.HostNotFound ? "NXDOMAIN" : "no data");
        }
        catch (SocketException ex)
        {
            throw new DnsLookupException($"system resolver: {ex.Message}", ex);
        }
    }
}

/// <summary>
/// Asks given DNS servers directly (RFC 1035 over UDP, over TCP when the answer is truncated), A and AAAA in parallel.
/// Servers are tried in order, each query up to <c>attempts</c> rounds; NXDOMAIN and NODATA are answers (no addresses),
/// SERVFAIL/REFUSED/timeouts move on to the next server. Timeouts run on the <see cref="TimeProvider"/>.
/// </summary>
internal sealed class DnsServerLookup(IReadOnlyList<IPEndPoint> servers, TimeProvider time, TimeSpan queryTimeout, int attempts = 2) : IDnsLookup
{
    private const int MaxUdpResponse = 4096;

    public IReadOnlyList<IPEndPoint> Servers { get; } = servers.Count > 0 ? servers : throw new ArgumentException("no DNS servers", nameof(servers));

    /// <summary>"127.0.0.1:5353", "10.96.0.10" (port 53), "[fd00::10]:53".</summary>
    public static IPEndPoint ParseServer(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.StartsWith('['))
        {
            // IPAddress.TryParse would take "[fd00::10]:5300" too, and drop the port.
            if (IPEndPoint.TryParse(trimmed, out var bracketed) && (bracketed.Port > 0 || trimmed.EndsWith(']')))
            {
                return bracketed.Port > 0 ? bracketed : new IPEndPoint(bracketed.Address, 53);
            }
        }
        else if (IPAddress.TryParse(trimmed, out var bare))
        {
            return new IPEndPoint(bare, 53);
        }
        else if (IPEndPoint.TryParse(trimmed, out var endpoint) && endpoint.Port > 0)
        {
            return endpoint;
        }

        throw new FormatException($"'{text}' is not a DNS server address (expected ip or ip:port, e.g. 127.0.0.1:5353 or [fd00::10]:53)");
    }

    /// <summary>
    /// A and AAAA together. One family failing (a resolver that refuses AAAA for a name it holds only A records of, as
    /// dnsmasq without a local domain does) is not a failed lookup when the other answered with addresses.
    /// </summary>
    public async Task<DnsLookupResult> LookupAsync(string name, CancellationToken cancellationToken)
    {
        var a = AnswerOrErrorAsync(name, DnsRecordType.A, cancellationToken);
        var aaaa = AnswerOrErrorAsync(name, DnsRecordType.Aaaa, cancellationToken);
        var answers = await Task.WhenAll(a, aaaa).ConfigureAwait(false);
        var responses = answers.Where(x => x.Response is not null).Select(x => x.Response!).ToList();
        var records = responses.SelectMany(r => r.Addresses).ToList();
        var failures = answers.Where(x => x.Error is not null).Select(x => x.Error!).ToList();
        if (failures.Count == answers.Length || (records.Count == 0 && failures.Count > 0))
        {
            throw new DnsLookupException(string.Join("; ", failures.Select(f => f.Message)));
        }

        TimeSpan? ttl = records.Count == 0 ? null : records.Min(r => r.Ttl);
        var note = responses.All(r => r.Code == DnsResponseCode.NameError) ? "NXDOMAIN"
            : records.Count == 0 ? "no A/AAAA records"
            : failures.Count > 0 ? "partial: " + string.Join("; ", failures.Select(f => f.Message))
            : null;
        return new DnsLookupResult(records.Select(r => r.Address).Distinct().ToList(), ttl, note);
    }

    private async Task<(DnsResponse? Response, DnsLookupException? Error)> AnswerOrErrorAsync(string name, DnsRecordType type, CancellationToken cancellationToken)
    {
        try
        {
            return (await QueryAsync(name, type, cancellationToken).ConfigureAwait(false), null);
        }
        catch (DnsLookupException ex)
        {
            return (null, ex);
        }
    }

    /// <summary>One question, asked of each server in turn until one gives a definitive answer (NOERROR or NXDOMAIN).</summary>
    public async Task<DnsResponse> QueryAsync(string name, DnsRecordType type, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        for (var attempt = 0; attempt < Math.Max(1, attempts); attempt++)
        {
            foreach (var server in Servers)
            {
                var id = (ushort)RandomNumberGenerator.GetInt32(0, 65536);
                var query = DnsMessage.BuildQuery(id, name, type);
                try
                {
                    var response = await AskUdpAsync(server, query, id, name, type, cancellationToken).ConfigureAwait(false);
                    if (response.Truncated)
                    {
                        response = await AskTcpAsync(server, query, id, name, type, cancellationToken).ConfigureAwait(false);
                    }

                    if (response.Code is DnsResponseCode.NoError or DnsResponseCode.NameError)
                    {
                        return response;
                    }

                    errors.Add($"{server}: {response.Code}");
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    errors.Add($"{server}: no answer in {queryTimeout.TotalMilliseconds:F0} ms");
                }
                catch (Exception ex) when (ex is SocketException or DnsFormatException or IOException)
                {
                    errors.Add($"{server}: {ex.Message}");
                }
            }
        }

        throw new DnsLookupException($"{type} {name}: " + string.Join("; ", errors.Distinct()));
    }

    private async Task<DnsResponse> AskUdpAsync(IPEndPoint server, byte[] query, ushort id, string name, DnsRecordType type, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(queryTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        // Connected: only the server's datagrams are delivered, and a closed port fails fast (ICMP port unreachable).
        await socket.ConnectAsync(server, linked.Token).ConfigureAwait(false);
        await socket.SendAsync(query, SocketFlags.None, linked.Token).ConfigureAwait(false);
        var buffer = new byte[MaxUdpResponse];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, SocketFlags.None, linked.Token).ConfigureAwait(false);
            if (DnsMessage.ReadId(buffer.AsSpan(0, received)) != id)
            {
                continue; // a late answer to an earlier query: not ours
            }

            return DnsMessage.ParseResponse(buffer.AsSpan(0, received), id, name, type);
        }
    }

    private async Task<DnsResponse> AskTcpAsync(IPEndPoint server, byte[] query, ushort id, string name, DnsRecordType type, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(queryTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server, linked.Token).ConfigureAwait(false);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var framed = new byte[query.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        await stream.WriteAsync(framed, linked.Token).ConfigureAwait(false);
        var prefix = new byte[2];
        await stream.ReadExactlyAsync(prefix, linked.Token).ConfigureAwait(false);
        var response = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        await stream.ReadExactlyAsync(response, linked.Token).ConfigureAwait(false);
        return DnsMessage.ParseResponse(response, id, name, type);
    }

    public override string ToString() => string.Join(",", Servers.Select(s => s.ToString()));
}
