using Gateway.FunctionalTests.Infrastructure;
using System.Text;

namespace Gateway.FunctionalTests.Hardening;

public enum Expect
{
    /// <summary>4xx or a closed connection; the upstream sees nothing from this request.</summary>
    Rejected,

    /// <summary>
    /// 4xx or a closed connection, found only inside the body: the gateway streams, so the upstream may have seen the
    /// head, but never a complete request; its connection is cut as when any client disconnects mid-body.
    /// </summary>
    Aborted,

    /// <summary>The gateway forwards exactly <see cref="HostileCase.Forwarded"/> clean requests and relays their 200s.</summary>
    Forwarded,
}

/// <summary>A malformed or hostile HTTP/1.1 request, as raw bytes, with what the gateway must do with it.</summary>
public sealed record HostileCase(string Name, string Request, Expect Expect, int Forwarded = 0, Action<IReadOnlyList<RawRequest>>? Check = null, int Responses = 0)
{
    /// <summary>How many responses the case's own bytes earn (a rejected pipelined request adds its 4xx).</summary>
    public int ExpectedResponses => Responses > 0 ? Responses : Expect == Expect.Forwarded ? Forwarded : 1;

    public override string ToString() => Name;
}

/// <summary>
/// The corpus. Smuggled requests always target <c>/smuggled</c>: the upstream must never see that path as a request.
/// Requests a client legitimately pipelines target <c>/api/second</c>.
/// </summary>
public static class HostileRequestCorpus
{
    private const string Smuggled = "GET /smuggled HTTP/1.1\r\nHost: gw.test\r\n\r\n";

    public static readonly IReadOnlyList<HostileCase> Cases = Build();

    public static HostileCase Find(string name) => Cases.Single(c => c.Name == name);

    private static string Post(string headers, string body) => $"POST /api/post HTTP/1.1\r\nHost: gw.test\r\n{headers}\r\n{body}";

    private static string Get(string headers) => $"GET /api/get HTTP/1.1\r\nHost: gw.test\r\n{headers}\r\n";

    private static List<HostileCase> Build()
    {
        var chunkedSmuggle = $"{Smuggled.Length:x}\r\n{Smuggled}\r\n0\r\n\r\n";
        var cases = new List<HostileCase>
        {
            // --- Content-Length / Transfer-Encoding framing (request smuggling) ---
            new("CL.TE: Content-Length covers a smuggled request after the last chunk",
                Post($"Content-Length: {5 + Smuggled.Length}\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n" + Smuggled), Expect.Rejected),
            new("TE.CL: a chunk carries a smuggled request past a short Content-Length",
                Post("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", chunkedSmuggle), Expect.Rejected),
            new("Content-Length: 0 together with Transfer-Encoding: chunked",
                Post("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), Expect.Rejected),
            new("two different Content-Length headers",
                Post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"), Expect.Rejected),
            new("Content-Length list with two values",
                Post("Content-Length: 5, 6\r\n", "hello!"), Expect.Rejected),
            new("the same Content-Length twice",
                Post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), Expect.Rejected),
            new("Content-Length with a plus sign (re-sent as a plain number)",
                Post("Content-Length: +5\r\n", "hello"), Expect.Forwarded, 1, BodyIs("hello")),
            new("negative Content-Length",
                Post("Content-Length: -1\r\n", "hello"), Expect.Rejected),
            new("hexadecimal Content-Length",
                Post("Content-Length: 0x5\r\n", "hello"), Expect.Rejected),
            new("Content-Length beyond 64 bits",
                Post("Content-Length: 184467440737095516160\r\n", "hello"), Expect.Rejected),
            new("Content-Length larger than the body limit",
                Post("Content-Length: 104857600\r\n", "hello"), Expect.Rejected),
            new("Transfer-Encoding 'xchunked'",
                Post("Transfer-Encoding: xchunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), Expect.Rejected),
            new("Transfer-Encoding 'chunked, identity'",
                Post("Transfer-Encoding: chunked, identity\r\n", "5\r\nhello\r\n0\r\n\r\n"), Expect.Rejected),
            new("Transfer-Encoding 'identity'",
                Post("Transfer-Encoding: identity\r\nContent-Length: 5\r\n", "hello"), Expect.Rejected),
            new("Transfer-Encoding header with a space before the colon",
                Post("Transfer-Encoding : chunked\r\nContent-Length: 5\r\n", "hello"), Expect.Rejected),
            new("Transfer-Encoding continued on an obs-fold line",
                Post("Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n", "hello"), Expect.Rejected),
            new("Transfer-Encoding 'chunked ' with trailing whitespace (optional whitespace: a clean chunked body)",
                Post("Transfer-Encoding: chunked \r\n", "5\r\nhello\r\n0\r\n\r\n"), Expect.Forwarded, 1, BodyIs("hello")),
            new("Transfer-Encoding sent twice",
                Post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), Expect.Forwarded, 1, BodyIs("hello")),
            new("Transfer-Encoding 'gzip, chunked' (forwarded with one clean framing)",
                Post("Transfer-Encoding: gzip, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), Expect.Forwarded, 1, BodyIs("hello")),

            // --- chunk sizes ---
            new("chunk size that is not hex",
                Post("Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n"), Expect.Aborted),
            new("negative chunk size",
                Post("Transfer-Encoding: chunked\r\n", "-5\r\nhello\r\n0\r\n\r\n"), Expect.Aborted),
            new("chunk size that overflows 64 bits",
                Post("Transfer-Encoding: chunked\r\n", "1ffffffffffffffff\r\nhello\r\n0\r\n\r\n"), Expect.Aborted),
            new("chunk size followed by junk",
                Post("Transfer-Encoding: chunked\r\n", "5 x\r\nhello\r\n0\r\n\r\n"), Expect.Aborted),
            new("chunk data longer than its size (smuggled bytes after it)",
                Post("Transfer-Encoding: chunked\r\n", "5\r\nhello" + Smuggled + "\r\n0\r\n\r\n"), Expect.Aborted),
            new("chunk size line ended by a bare LF",
                Post("Transfer-Encoding: chunked\r\n", "5\nhello\r\n0\r\n\r\n"), Expect.Aborted),
            new("chunked body that contains a whole request (it is data, not a request)",
                Post("Transfer-Encoding: chunked\r\n", chunkedSmuggle), Expect.Forwarded, 1, BodyIs(Smuggled)),

            // --- header syntax ---
            new("obs-fold continuation line",
                Get("X-Folded: one\r\n two\r\n"), Expect.Rejected),
            new("bare LF line endings throughout (a line end RFC 9112 lets servers accept; re-sent with CRLF)",
                "GET /api/get HTTP/1.1\nHost: gw.test\nX-A: 1\n\n", Expect.Forwarded, 1, requests => Assert.Equal("1", requests[0].Value("X-A"))),
            new("bare LF ending one header line (two headers, re-sent with CRLF)",
                Get("X-A: 1\nX-Injected: yes\r\n"), Expect.Forwarded, 1, requests => Assert.Equal("yes", requests[0].Value("X-Injected"))),
            new("bare CR inside a header value",
                Get("X-A: 1\rX-Injected: yes\r\n"), Expect.Rejected),
            new("NUL in a header value",
                Get("X-A: a\0b\r\n"), Expect.Rejected),
            new("NUL in a header name",
                Get("X-\0A: b\r\n"), Expect.Rejected),
            new("control character 0x01 in a header value",
                Get("X-A: a\u0001b\r\n"), Expect.Rejected),
            new("DEL in a header value",
                Get("X-A: a\u007fb\r\n"), Expect.Rejected),
            new("space before the colon of a header",
                Get("X-A : b\r\n"), Expect.Rejected),
            new("header line without a colon",
                Get("NoColonHere\r\n"), Expect.Rejected),
            new("non-ASCII bytes in a header value",
                Get("X-A: caf\u00e9\r\n"), Expect.Rejected),
            new("oversized header block (40 KiB)",
                Get($"X-Big: {new string('a', 40 * 1024)}\r\n"), Expect.Rejected),
            new("too many headers (150)",
                Get(string.Concat(Enumerable.Range(0, 150).Select(i => $"X-H{i}: v\r\n"))), Expect.Rejected),

            // --- request line ---
            new("oversized request line (16 KiB target)",
                $"GET /api/{new string('a', 16 * 1024)} HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Rejected),
            new("request line ended by a bare LF (re-sent with CRLF)",
                "GET /api/get HTTP/1.1\nHost: gw.test\r\n\r\n", Expect.Forwarded, 1),
            new("two spaces in the request line",
                "GET  /api/get HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Rejected),
            new("unknown HTTP version",
                "GET /api/get HTTP/9.9\r\nHost: gw.test\r\n\r\n", Expect.Rejected),
            new("invalid character in the method",
                "G(T /api/get HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Rejected),
            new("raw space inside the target",
                "GET /api/a b HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Rejected),

            // --- Host and target forms ---
            new("Host missing on HTTP/1.1",
                "GET /api/get HTTP/1.1\r\nX-A: 1\r\n\r\n", Expect.Rejected),
            new("Host duplicated",
                "GET /api/get HTTP/1.1\r\nHost: gw.test\r\nHost: evil.example\r\n\r\n", Expect.Rejected),
            new("Host with userinfo",
                "GET /api/get HTTP/1.1\r\nHost: user@evil.example\r\n\r\n", Expect.Rejected),
            new("absolute-form target naming another host than Host",
                "GET http://evil.example/api/abs HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Rejected),
            new("absolute-form target naming another host (forwarded to the configured destination, origin-form)",
                "GET http://evil.example/api/abs HTTP/1.1\r\nHost: evil.example\r\n\r\n", Expect.Forwarded, 1,
                requests => Assert.Equal("/api/abs", requests[0].Target)),
            new("HTTP/1.0 without Host (forwarded as HTTP/1.1 with the destination's Host)",
                "GET /api/old HTTP/1.0\r\n\r\n", Expect.Forwarded, 1, requests => Assert.Equal("/api/old", requests[0].Target)),
            new("CONNECT to another host",
                "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", Expect.Rejected),

            // --- private paths: management lives on its own listener, never behind the proxy port ---
            new("dot-dot segments toward /admin",
                "GET /api/../admin/config HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Rejected),
            new("percent-encoded dot-dot toward /metrics",
                "GET /api/%2e%2e/metrics HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Rejected),
            new("upper-case percent-encoded dot-dot toward /admin",
                "GET /api/%2E%2E/%2E%2E/admin/clusters HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Rejected),
            new("/metrics on the proxy port",
                "GET /metrics HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Rejected),
            new("/admin/config on the proxy port with the admin token",
                $"GET /admin/config HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer {HostileRequestTests.AdminToken}\r\n\r\n", Expect.Rejected),
            new("encoded slash after dot-dot stays one opaque segment",
                "GET /api/..%2fadmin HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Forwarded, 1,
                requests => { Assert.StartsWith("/api/", requests[0].Target); Assert.DoesNotContain("/admin", requests[0].Target); }),

            // --- Connection nominating end-to-end headers for removal ---
            new("Connection nominates X-Forwarded-For (the gateway still sets its own)",
                Get("Connection: keep-alive, X-Forwarded-For\r\nX-Forwarded-For: 10.9.9.9\r\n"), Expect.Forwarded, 1,
                requests => Assert.Equal("127.0.0.1", requests[0].Value("X-Forwarded-For"))),
            new("Connection nominates Authorization (removed as hop-by-hop)",
                Get("Connection: Authorization\r\nAuthorization: Bearer abc\r\n"), Expect.Forwarded, 1,
                requests => Assert.Null(requests[0].Value("Authorization"))),
            new("Connection nominates Content-Length (the body keeps clean framing)",
                Post("Connection: Content-Length\r\nContent-Length: 5\r\n", "hello"), Expect.Forwarded, 1, BodyIs("hello")),
            new("Connection nominates Host (exactly one Host still goes upstream)",
                Get("Connection: Host\r\n"), Expect.Forwarded, 1),

            // --- Upgrade abuse ---
            new("h2c upgrade (would tunnel past the gateway)",
                Get("Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"), Expect.Forwarded, 1,
                requests => Assert.Null(requests[0].Value("Upgrade"))),
            new("Upgrade to an unknown protocol",
                Get("Connection: Upgrade\r\nUpgrade: evil/1.0\r\n"), Expect.Forwarded, 1,
                requests => Assert.Null(requests[0].Value("Upgrade"))),
            new("Upgrade on a POST with a body",
                Post("Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 5\r\n", "hello"), Expect.Forwarded, 1, BodyIs("hello")),

            // --- pipelining and desync ---
            new("two clean pipelined requests",
                Get(string.Empty) + "GET /api/second HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Forwarded, 2,
                requests => Assert.Equal(["/api/get", "/api/second"], requests.Select(r => r.Target))),
            new("GET whose Content-Length body holds a request (stays one request)",
                $"GET /api/get HTTP/1.1\r\nHost: gw.test\r\nContent-Length: {Smuggled.Length}\r\n\r\n{Smuggled}", Expect.Forwarded, 1, BodyIs(Smuggled)),
            new("CL.TE request followed by a victim request",
                Post($"Content-Length: {5 + Smuggled.Length}\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n" + Smuggled) + "GET /api/victim HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Rejected),
            new("TE.CL request followed by a victim request",
                Post("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", chunkedSmuggle) + "GET /api/victim HTTP/1.1\r\nHost: gw.test\r\n\r\n", Expect.Rejected),
            new("request with a malformed second request pipelined behind it",
                Get(string.Empty) + "GET /api/second HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", Expect.Forwarded, 1,
                requests => Assert.Equal("/api/get", requests[0].Target), Responses: 2),
        };

        var duplicates = cases.GroupBy(c => c.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        return duplicates.Count == 0 ? cases : throw new InvalidOperationException("duplicate case names: " + string.Join(", ", duplicates));
    }

    private static Action<IReadOnlyList<RawRequest>> BodyIs(string expected) => requests =>
        Assert.Equal(expected, Decode(requests[0]));

    /// <summary>The body's content whatever its framing (the upstream records chunked bodies as framed on the wire).</summary>
    public static string Decode(RawRequest request)
    {
        if (request.Value("Transfer-Encoding") != "chunked")
        {
            return request.BodyText;
        }

        var text = request.BodyText;
        var content = new StringBuilder();
        var position = 0;
        while (true)
        {
            var lineEnd = text.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = Convert.ToInt32(text[position..lineEnd].Split(';')[0], 16);
            if (size == 0)
            {
                return content.ToString();
            }

            content.Append(text, lineEnd + 2, size);
            position = lineEnd + 2 + size + 2;
        }
    }
}
