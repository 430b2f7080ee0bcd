// Upstreams compress by the client's Accept-Encoding (YARP forwards it), and the cache stores what they sent: an entry
// gzipped for one client must never reach a client that cannot decode it. The key therefore holds the set of
// encodings the client accepts, reduced to a few known ones so browsers' many spellings share entries.
// Gap: ASP.NET Core's output cache keys by configured rules only and ignores the response's Content-Encoding.
using Microsoft.Extensions.Primitives;

namespace Gateway.OutputCaching;

internal static class AcceptEncodingKey
{
    private const int Br = 1, Gzip = 2, Deflate = 4, Zstd = 8, Other = 16;

    // One constant per set: the key prefix costs no allocation per request.
    private static readonly string[] Prefixes = BuildPrefixes();

    /// <summary>A key prefix naming the encodings <paramref name="acceptEncoding"/> accepts (q=0 excluded).</summary>
    public static string For(StringValues acceptEncoding)
    {
        var set = 0;
        foreach (var value in acceptEncoding)
        {
            var rest = value.AsSpan();
            while (!rest.IsEmpty)
            {
                var comma = rest.IndexOf(',');
                var item = comma < 0 ? rest : rest[..comma];
                rest = comma < 0 ? [] : rest[(comma + 1)..];
                set |= Parse(item);
            }
        }

        return Prefixes[set];
    }

    private static int Parse(ReadOnlySpan<char> item)
    {
        var semicolon = item.IndexOf(';');
        var token = (semicolon < 0 ? item : item[..semicolon]).Trim();
        if (token.IsEmpty || token.Equals("identity", StringComparison.OrdinalIgnoreCase) || (semicolon >= 0 && IsZeroQuality(item[(semicolon + 1)..])))
        {
            return 0;
        }

        return token.Equals("br", StringComparison.OrdinalIgnoreCase) ? Br
            : token.Equals("gzip", StringComparison.OrdinalIgnoreCase) || token.Equals("x-gzip", StringComparison.OrdinalIgnoreCase) ? Gzip
            : token.Equals("deflate", StringComparison.OrdinalIgnoreCase) ? Deflate
            : token.Equals("zstd", StringComparison.OrdinalIgnoreCase) ? Zstd
            : Other;
    }

    // "q=0", "q=0.0", "q=0.000": refused. Anything else (or unparsable) counts as accepted, so entries split, never merge.
    private static bool IsZeroQuality(ReadOnlySpan<char> parameters)
    {
        var q = parameters.Trim();
        if (!q.StartsWith("q=", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        q = q[2..].Trim();
        return !q.IsEmpty && q[0] == '0' && q[1..].TrimStart('.').TrimStart('0').IsEmpty;
    }

    private static string[] BuildPrefixes()
    {
        var prefixes = new string[32];
        for (var set = 0; set < prefixes.Length; set++)
        {
            prefixes[set] = "ae=" + ((set & Br) != 0 ? "br," : "") + ((set & Gzip) != 0 ? "gzip," : "") + ((set & Deflate) != 0 ? "deflate," : "")
                + ((set & Zstd) != 0 ? "zstd," : "") + ((set & Other) != 0 ? "other," : "");
        }

        return prefixes;
    }
}
