// The gRPC status of a response as a bounded code name, read where gRPC puts it: the grpc-status trailer, or the
// grpc-status header of a trailers-only response (an error without a body).
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Foundation;

internal static class GrpcStatus
{
    public const string Ok = "OK";

    /// <summary>The canonical code names (grpc/grpc doc/statuscodes.md), indexed by code.</summary>
    private static readonly string[] Names =
    [
        Ok, "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ];

    /// <summary>How many codes gRPC defines (0..16).</summary>
    public const int CodeCount = 17;

    /// <summary>The name of a code in 0..<see cref="CodeCount"/>-1 (the same string instance every time).</summary>
    public static string NameAt(int code) => Names[code];

    /// <summary>
    /// The response's gRPC status name, or null when the response is not gRPC (its Content-Type is not
    /// <c>application/grpc*</c>) or carries no status (e.g. the stream was cut). Call once the response is complete.
    /// </summary>
    public static string? Of(HttpContext context)
    {
        var response = context.Response;
        if (response.ContentType is not { } contentType || !contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers is { } trailers
            && trailers.TryGetValue("grpc-status", out var trailer) && trailer.Count > 0)
        {
            return NameOf(trailer[0]);
        }

        return response.Headers.TryGetValue("grpc-status", out var header) && header.Count > 0 ? NameOf(header[0]) : null;
    }

    /// <summary>"5" is NOT_FOUND; anything that is not a known code is UNKNOWN (as gRPC clients treat it).</summary>
    public static string NameOf(string? code)
    {
        if (code is { Length: 1 or 2 } && char.IsAsciiDigit(code[0]) && (code.Length == 1 || char.IsAsciiDigit(code[1])))
        {
            var value = code.Length == 1 ? code[0] - '0' : ((code[0] - '0') * 10) + (code[1] - '0');
            if (value < Names.Length && (code.Length == 1 || code[0] != '0'))
            {
                return Names[value];
            }
        }

        return Names[2];
    }
}
