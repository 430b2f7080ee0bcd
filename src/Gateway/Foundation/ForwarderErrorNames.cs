using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Foundation;

/// <summary>YARP's <see cref="ForwarderError"/> names, cached once (<c>ToString()</c> on an enum allocates); shared by metrics and the access log.</summary>
internal static class ForwarderErrorNames
{
    private static readonly string[] Names = Build();

    public static string Of(ForwarderError error)
    {
        var index = (int)error;
        return (uint)index < (uint)Names.Length ? Names[index] : "Unknown";
    }

    private static string[] Build()
    {
        var values = Enum.GetValues<ForwarderError>();
        var max = 0;
        foreach (var value in values)
        {
            max = Math.Max(max, (int)value);
        }

        var names = new string[max + 1];
        Array.Fill(names, "Unknown");
        foreach (var value in values)
        {
            names[(int)value] = value.ToString();
        }

        return names;
    }
}
