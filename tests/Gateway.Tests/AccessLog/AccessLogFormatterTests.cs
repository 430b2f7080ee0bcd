using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Text;
using Gateway.AccessLog;

namespace Gateway.Tests.AccessLog;

public sealed class AccessLogFormatterTests
{
    [Fact]
    public void ALine_IsOneJsonObject_InFieldOrder_WithTimeAndDurationsWrittenExactly()
    {
        var settings = new AccessLogSettings(new AccessLogOptions { Fields = ["time", "client", "status", "duration_ms", "upstream_ms", "attempts", "error"] });
        var entry = new AccessLogEntry(settings, 0, new DateTimeOffset(2026, 12, 2, 0, 53, 22, 789, TimeSpan.Zero).AddTicks(9999))
        {
            Client = IPAddress.Parse("::ffff:192.0.2.1"),
            Status = 502,
            DurationTicks = Ticks(1_234_567),
            UpstreamTicks = Ticks(42),
            Proxied = true,
            Attempts = 2,
            Error = "Request",
        };

        Assert.Equal(
            """{"time":"2026-12-02T00:53:22.789Z","client":"192.0.2.1","status":502,"duration_ms":1234.567,"upstream_ms":0.042,"attempts":2,"error":"Request"}""" + "\n",
            Format(entry));
    }

    [Fact]
    public void Values_AreEscaped_SoARequestCannotEndALineOrForgeAKey()
    {
        var settings = new AccessLogSettings(new AccessLogOptions { Fields = ["path", "duration_ms"] });
        var entry = new AccessLogEntry(settings, 0, DateTimeOffset.UnixEpoch) { Path = "/a\"b\\c\n{\"status\":200}/é&+" };

        var line = Format(entry);

        Assert.Equal("""{"path":"/a\"b\\c\n{\"status\":200}/é&+","duration_ms":0.000}""" + "\n", line);
        Assert.Single(line.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static long Ticks(long micros) => (long)Math.Ceiling(micros * (Stopwatch.Frequency / 1_000_000.0));

    private static string Format(AccessLogEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var formatter = new AccessLogFormatter(buffer);
        formatter.Write(entry);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
