// RFC 9110 5.6.2 tokens: what a header (field) name or a method may be. Config checks use it on names users write.
namespace Gateway.Foundation;

internal static class HttpToken
{
    /// <summary>Whether <paramref name="value"/> is a non-empty RFC 9110 token.</summary>
    public static bool IsToken(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && "!#$%&'*+-.^_`|~".IndexOf(c, StringComparison.Ordinal) < 0)
            {
                return false;
            }
        }

        return true;
    }
}
