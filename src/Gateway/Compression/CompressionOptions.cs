using System.IO.Compression;
using Gateway.Foundation;
using Microsoft.AspNetCore.ResponseCompression;

namespace Gateway.Compression;

/// <summary>
/// Response compression (Brotli, gzip). <c>Gateway:Compression</c> holds the defaults for every route;
/// <c>ReverseProxy:Routes:&lt;id&gt;:Compression</c> overrides any of them (but <see cref="Level"/>) for one route.
/// Off unless <see cref="Enabled"/> is true. A response the upstream already encoded is never compressed again.
/// </summary>
internal sealed class CompressionOptions : IConfigBindable<CompressionOptions>
{
    public static CompressionOptions Read(IConfiguration section) => section.Get<CompressionOptions>() ?? new();

    public const string DefaultsSectionPath = "Gateway:Compression";
    public const string RouteBlockName = "Compression";

    /// <summary>Built-in <see cref="MimeTypes"/>: ASP.NET Core's list (text, JSON, XML, JavaScript, CSS, wasm) and SVG.</summary>
    public static readonly string[] DefaultMimeTypes = [.. ResponseCompressionDefaults.MimeTypes, "image/svg+xml"];

    /// <summary>The per-route block with its defaults, as the config reader validates and carries it.</summary>
    public static readonly ExtensionBlock<CompressionOptions> Block = new(
        ExtensionScope.Route, RouteBlockName, DefaultsSectionPath, static (options, block, errors) => CompressionValidation.Validate(options, block.Path, isRouteBlock: true, errors));

    /// <summary>Compress responses (built-in: false).</summary>
    public bool? Enabled { get; set; }

    /// <summary>Response media types to compress, exact (<c>application/json</c>) or a whole type (<c>text/*</c>). Built-in: <see cref="DefaultMimeTypes"/>.</summary>
    public string[]? MimeTypes { get; set; }

    /// <summary>
    /// Responses whose <c>Content-Length</c> is below this are sent as they are (built-in: 1024; compressing a few
    /// hundred bytes costs more than it saves). A response without a length (chunked) is compressed.
    /// </summary>
    public long? MinimumBytes { get; set; }

    /// <summary>Fastest (built-in), Optimal, SmallestSize or NoCompression; for both encodings. Only in <c>Gateway:Compression</c>.</summary>
    public CompressionLevel? Level { get; set; }
}
