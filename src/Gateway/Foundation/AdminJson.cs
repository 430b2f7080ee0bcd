// How the admin API shows a setting that is off or unlimited: null, never the sentinel the runtime takes for it
// (Timeout.InfiniteTimeSpan, which System.Text.Json writes as "-00:00:00.0010000", or int.MaxValue for "no cap").
namespace Gateway.Foundation;

internal static class AdminJson
{
    /// <summary>Null for <see cref="Timeout.InfiniteTimeSpan"/> (off / never), else the duration.</summary>
    /// Written as System.Text.Json writes a TimeSpan ("c" format), without its reflection-based converter (Native AOT).
    public static string? Duration(TimeSpan value) => value == Timeout.InfiniteTimeSpan ? null : value.ToString("c", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Null for <see cref="int.MaxValue"/> (unlimited), else the limit.</summary>
    public static int? Limit(int value) => value == int.MaxValue ? null : value;
}
