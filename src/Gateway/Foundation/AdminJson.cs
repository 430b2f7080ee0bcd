// How the admin API answers: JSON built as JsonObject (no reflection-based serialization, Native AOT), and a setting
// that is off or unlimited shown as null, never the sentinel the runtime takes for it (Timeout.InfiniteTimeSpan, which
// System.Text.Json writes as "-00:00:00.0010000", or int.MaxValue for "no cap").
namespace Gateway.Foundation;

internal static class AdminJson
{
    /// <summary>Null for <see cref="Timeout.InfiniteTimeSpan"/> (off / never), else the duration.</summary>
    /// Written as System.Text.Json writes a TimeSpan ("c" format), without its reflection-based converter (Native AOT).
    public static string? Duration(TimeSpan value) => value == Timeout.InfiniteTimeSpan ? null : value.ToString("c", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Null for <see cref="int.MaxValue"/> (unlimited), else the limit.</summary>
    public static int? Limit(int value) => value == int.MaxValue ? null : value;

    /// <summary>An admin API answer: <paramref name="body"/> as application/json (built as JsonObject: no reflection, Native AOT).</summary>
    public static IResult Result(System.Text.Json.Nodes.JsonNode body, int statusCode = StatusCodes.Status200OK) =>
        Results.Text(body.ToJsonString(), "application/json", statusCode: statusCode);
}
