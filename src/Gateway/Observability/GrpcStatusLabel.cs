// The grpc_status label of gateway.proxy.requests: the gRPC status a gateway client received, as one of the 17 code
// names, or "none" for a request that is not gRPC. A gRPC error is an HTTP 200, so status_class alone counts it as 2xx.
using System.Globalization;
using Gateway.Foundation;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Gateway.Observability;

internal static class GrpcStatusLabel
{
    public const string None = "none";

    private const string GrpcContentType = "application/grpc";
    private const string StatusHeader = "grpc-status";

    private static readonly string Unknown = GrpcStatus.NameAt(2);

    /// <summary>The label for a finished request; reads headers already in memory and allocates nothing.</summary>
    public static string Of(HttpContext context)
    {
        if (!IsGrpc(context.Request.ContentType))
        {
            return None;
        }

        // The status normally ends the call in the trailers; a call that fails before its first message answers
        // "trailers-only", with the status in the response headers.
        var trailers = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
        if (trailers is not null && trailers.TryGetValue(StatusHeader, out var status))
        {
            return FromHeader(status);
        }

        if (context.Response.Headers.TryGetValue(StatusHeader, out status))
        {
            return FromHeader(status);
        }

        // No status from the upstream: the gateway answered itself (502, 503, 504, 429, ...) or the call was cut. A
        // gRPC client then derives the status from the HTTP status (doc/http-grpc-status-mapping.md); so do we.
        return FromHttpStatus(context.Response.StatusCode);
    }

    /// <summary>gRPC's own content types (<c>application/grpc</c>, <c>application/grpc+proto</c>, ...), not gRPC-Web, whose status is in the body.</summary>
    internal static bool IsGrpc(string? contentType) =>
        contentType is not null
        && contentType.StartsWith(GrpcContentType, StringComparison.OrdinalIgnoreCase)
        && (contentType.Length == GrpcContentType.Length || contentType[GrpcContentType.Length] is '+' or ';');

    /// <summary>A code outside 0..16, or no number at all, is UNKNOWN, as the spec tells clients to read it.</summary>
    internal static string FromHeader(StringValues value) =>
        int.TryParse(value.Count > 0 ? value[0] : null, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && (uint)code < (uint)GrpcStatus.CodeCount
            ? GrpcStatus.NameAt(code)
            : Unknown;

    internal static string FromHttpStatus(int statusCode) => statusCode switch
    {
        400 => GrpcStatus.NameAt(13),                      // INTERNAL
        401 => GrpcStatus.NameAt(16),                      // UNAUTHENTICATED
        403 => GrpcStatus.NameAt(7),                       // PERMISSION_DENIED
        404 => GrpcStatus.NameAt(12),                      // UNIMPLEMENTED
        429 or 502 or 503 or 504 => GrpcStatus.NameAt(14), // UNAVAILABLE
        _ => Unknown,
    };
}
