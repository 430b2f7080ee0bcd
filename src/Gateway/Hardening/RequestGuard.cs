// Rejects what Kestrel parses but a proxy must not forward.
// Gaps: Kestrel accepts Content-Length together with Transfer-Encoding (it drops the length and keeps the
// connection open, so bytes after the chunked body become a second request: a smuggling primitive), and it accepts
// control characters other than NUL/CR/LF in header values, which YARP would copy upstream verbatim.
using System.Buffers;
using Gateway.Foundation;
using Microsoft.Extensions.Primitives;

namespace Gateway.Hardening;

internal sealed class RequestGuard(ILogger<RequestGuard> logger) : IRequestStep
{
    // RFC 9110 5.5: field values are VCHAR, obs-text, SP and HTAB; every other control character is invalid.
    private static readonly SearchValues<char> ControlCharacters = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000a\u000b\u000c\u000d\u000e\u000f" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f");

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var headers = request.Headers;

        // Kestrel renames the Content-Length it drops to X-Content-Length; either way both framings were sent.
        if (!StringValues.IsNullOrEmpty(headers.TransferEncoding)
            && (request.ContentLength is not null || headers.ContainsKey("X-Content-Length")))
        {
            return Reject(context, logger, "both Content-Length and Transfer-Encoding");
        }

        // The boxed enumerator is the one allocation here; header dictionaries have no index-based access.
        foreach (var header in headers)
        {
            var values = header.Value;
            for (var i = 0; i < values.Count; i++)
            {
                if (values[i] is { } value && value.AsSpan().ContainsAny(ControlCharacters))
                {
                    return Reject(context, logger, "a control character in a header value");
                }
            }
        }

        return next(context);
    }

    private static Task Reject(HttpContext context, ILogger logger, string reason)
    {
        Log.RequestRejected(logger, reason);

        // Nothing after this request on the connection can be trusted to start where the client says it does.
        context.Response.Headers.Connection = "close";
        return ErrorBody.WriteAsync(context.Response, StatusCodes.Status400BadRequest, ErrorBody.BadRequest);
    }
}
