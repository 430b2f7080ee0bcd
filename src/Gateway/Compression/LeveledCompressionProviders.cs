// Brotli and gzip at Gateway:Compression:Level, read when each response starts, so a reload changes it.
// Gap: ASP.NET Core's providers read their level once, from options of their own.
using System.IO.Compression;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.Options;

namespace Gateway.Compression;

internal sealed class LeveledBrotliProvider(IOptionsMonitor<CompressionOptions> options) : ICompressionProvider
{
    public string EncodingName => "br";

    public bool SupportsFlush => true;

    public Stream CreateStream(Stream outputStream) =>
        new BrotliStream(outputStream, options.CurrentValue.Level ?? CompressionLevel.Fastest, leaveOpen: true);
}

internal sealed class LeveledGzipProvider(IOptionsMonitor<CompressionOptions> options) : ICompressionProvider
{
    public string EncodingName => "gzip";

    public bool SupportsFlush => true;

    public Stream CreateStream(Stream outputStream) =>
        new GZipStream(outputStream, options.CurrentValue.Level ?? CompressionLevel.Fastest, leaveOpen: true);
}
