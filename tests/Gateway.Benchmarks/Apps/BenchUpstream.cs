// The upstream for the targets nginx cannot serve well: a gRPC-shaped unary answer over h2c (HTTP/2-only endpoint,
// content-type application/grpc, one 5-byte-framed message, grpc-status 0 in the trailers), and 100 MB bodies
// (GET /download?bytes=N streams N bytes; POST /upload reads the whole body and answers its length).
using System.Buffers.Binary;
using System.Globalization;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gateway.Benchmarks.Apps;

internal static class BenchUpstream
{
    /// <summary>The gRPC message the upstream answers: 64 bytes, as the HTTP/1.1 upstream's body.</summary>
    public static readonly byte[] GrpcResponse = Frame(System.Text.Encoding.ASCII.GetBytes(Load.Servers.Body));

    public static async Task<int> RunAsync(string[] args)
    {
        var h2cPort = int.Parse(NaiveForwarder.Arg(args, "--h2c-port") ?? "0", CultureInfo.InvariantCulture);
        var httpPort = int.Parse(NaiveForwarder.Arg(args, "--http-port") ?? "0", CultureInfo.InvariantCulture);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Path.GetTempPath() });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
            if (h2cPort > 0)
            {
                kestrel.Listen(System.Net.IPAddress.Loopback, h2cPort, l => l.Protocols = HttpProtocols.Http2);
            }

            if (httpPort > 0)
            {
                kestrel.Listen(System.Net.IPAddress.Loopback, httpPort, l => l.Protocols = HttpProtocols.Http1);
            }
        });
        var app = builder.Build();
        var chunk = new byte[64 * 1024];
        app.MapGet("/download", async context =>
        {
            var bytes = long.Parse(context.Request.Query["bytes"].ToString(), CultureInfo.InvariantCulture);
            context.Response.ContentLength = bytes;
            context.Response.ContentType = "application/octet-stream";
            for (var left = bytes; left > 0; left -= chunk.Length)
            {
                await context.Response.Body.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, left)), context.RequestAborted);
            }
        });
        app.MapPost("/upload", async context =>
        {
            var buffer = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                total += n;
            }

            await context.Response.WriteAsync(total.ToString(CultureInfo.InvariantCulture));
        });
        // Any other POST: a gRPC unary call (the path names the method; the request message is read and dropped).
        app.MapPost("/{**method}", async context =>
        {
            var buffer = new byte[4096];
            while (await context.Request.Body.ReadAsync(buffer, context.RequestAborted) > 0)
            {
            }

            context.Response.ContentType = "application/grpc";
            await context.Response.Body.WriteAsync(GrpcResponse, context.RequestAborted);
            context.Response.AppendTrailer("grpc-status", "0");
        });
        await app.RunAsync();
        return 0;
    }

    /// <summary>gRPC's length-prefixed message: 0 (not compressed), a 4-byte big-endian length, the message.</summary>
    public static byte[] Frame(byte[] message)
    {
        var framed = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)message.Length);
        message.CopyTo(framed, 5);
        return framed;
    }
}
