// The one shape of the gateway's own refusals (400, 408, 413, 429, 502, 503, 504): a small JSON body
// {"error":"<code>", ...} as application/json, the code a fixed snake_case string. It never names a destination, an
// address or an exception. Every capability that refuses a request writes it here, so clients parse one shape.
using System.Text;

namespace Gateway.Foundation;

internal static class ErrorBody
{
    /// <summary>A request a proxy must not forward, or whose body Kestrel found malformed while it was being forwarded.</summary>
    public static readonly byte[] BadRequest = Create("bad_request");

    /// <summary>A body over the route's or the listener's MaxRequestBodySize (declared up front, or found mid-body).</summary>
    public static readonly byte[] BodyTooLarge = Create("body_too_large");

    /// <summary>A body that arrived slower than Gateway:Limits:MinRequestBodyDataRate.</summary>
    public static readonly byte[] RequestTimeout = Create("request_timeout");

    /// <summary><c>{"error":"<paramref name="code"/>"}</c>; a code is a fixed snake_case string, never request data.</summary>
    public static byte[] Create(string code) => Encoding.UTF8.GetBytes("{\"error\":\"" + code + "\"}");

    /// <summary>
    /// Answers <paramref name="statusCode"/> with <paramref name="body"/> as <c>application/json</c>. Nothing once the
    /// response has started: its status and headers are already on the wire.
    /// </summary>
    public static Task WriteAsync(HttpResponse response, int statusCode, byte[] body, CancellationToken cancellationToken = default)
    {
        if (response.HasStarted)
        {
            return Task.CompletedTask;
        }

        response.StatusCode = statusCode;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, 0, body.Length, cancellationToken);
    }
}
