// Which responses ASP.NET Core's compression middleware compresses, decided per route.
// Gaps filled: ResponseCompression is on for the whole app or not at all, with one MIME list and no minimum size;
// here the route's Compression block (with Gateway:Compression's defaults) decides, a response below MinimumBytes is
// left alone, and "Cache-Control: no-transform" is honoured (a proxy must not transform such a response, RFC 9111).
// Accept-Encoding negotiation (q-values, br before gzip) stays ASP.NET Core's, remembered per header value: YARP
// disables response buffering on every proxied response, which makes ResponseCompressionBody negotiate (parse the
// header, sort the candidates with LINQ) even for a response it will not compress (a 64-byte body below MinimumBytes:
// nearly half of what compression on a route cost per request in a native pinned profile).
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Model;

namespace Gateway.Compression;

internal sealed class RouteCompressionProvider(IServiceProvider services, IOptions<ResponseCompressionOptions> options)
    : IResponseCompressionProvider
{
    // Clients send a handful of distinct Accept-Encoding values; the bound stops a client sending many from growing it.
    internal const int MaxNegotiatedValues = 64;

    private readonly ResponseCompressionProvider _negotiation = new(services, options);

    // Accept-Encoding value -> the provider ASP.NET Core's negotiation picked for it (null: none). The providers are
    // the negotiation's own singletons and its options do not change, so the choice is a function of the value alone.
    private readonly ConcurrentDictionary<string, ICompressionProvider?> _negotiated = new(StringComparer.Ordinal);

    internal int NegotiatedValueCount => _negotiated.Count;

    public ICompressionProvider? GetCompressionProvider(HttpContext context)
    {
        var acceptEncoding = context.Request.Headers.AcceptEncoding;
        if (acceptEncoding.Count != 1 || acceptEncoding[0] is not { } value)
        {
            return _negotiation.GetCompressionProvider(context); // none, or several header lines: rare, not remembered
        }

        if (_negotiated.TryGetValue(value, out var provider))
        {
            return provider;
        }

        provider = _negotiation.GetCompressionProvider(context);
        if (_negotiated.Count >= MaxNegotiatedValues)
        {
            _negotiated.Clear(); // a bound, not an LRU: the values in use come back at once
        }

        _negotiated[value] = provider;
        return provider;
    }

    /// <summary>Called first, per request: a route without compression costs one metadata lookup and the middleware steps aside.</summary>
    public bool CheckRequestAcceptsCompression(HttpContext context)
    {
        if (Settings(context) is not { } settings || !(settings.Own?.Enabled ?? settings.Defaults.Enabled ?? false))
        {
            return false;
        }

        // An upgraded connection (WebSocket) carries no response body to compress.
        if (context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true
            || context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect == true)
        {
            return false;
        }

        return _negotiation.CheckRequestAcceptsCompression(context);
    }

    /// <summary>Called when the response starts, with the upstream's headers in place.</summary>
    public bool ShouldCompressResponse(HttpContext context)
    {
        var headers = context.Response.Headers;
        if (headers.ContainsKey(HeaderNames.ContentEncoding) // already compressed upstream (or any other encoding)
            || headers.ContainsKey(HeaderNames.ContentRange)
            || HeaderUtilities.ContainsCacheDirective(headers.CacheControl, "no-transform")
            || Settings(context) is not { } settings)
        {
            return false;
        }

        var minimum = settings.Own?.MinimumBytes ?? settings.Defaults.MinimumBytes ?? 1024;
        if (context.Response.ContentLength is { } length && length < minimum)
        {
            return false;
        }

        return IsListed(context.Response.ContentType, settings.Own?.MimeTypes ?? settings.Defaults.MimeTypes ?? CompressionOptions.DefaultMimeTypes);
    }

    private static Foundation.ExtensionBlockOptions<CompressionOptions>? Settings(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>() is { } route ? CompressionOptions.Block.Get(route.Config.Metadata) : null;

    /// <summary>The media type (parameters such as charset ignored) matches an entry exactly, or its type matches "type/*".</summary>
    internal static bool IsListed(string? contentType, string[] mimeTypes)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }

        var mediaType = contentType.AsSpan();
        var semicolon = mediaType.IndexOf(';');
        if (semicolon >= 0)
        {
            mediaType = mediaType[..semicolon];
        }

        mediaType = mediaType.Trim();
        var slash = mediaType.IndexOf('/');
        foreach (var listed in mimeTypes)
        {
            if (mediaType.Equals(listed, StringComparison.OrdinalIgnoreCase)
                || (slash > 0 && listed.Length == slash + 2 && listed.EndsWith("/*", StringComparison.Ordinal)
                    && mediaType[..slash].Equals(listed.AsSpan(0, slash), StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }
}
