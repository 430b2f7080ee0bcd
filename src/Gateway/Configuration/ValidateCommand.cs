// `Gateway --validate FILE [--json]`: the dry run without a running gateway, so CI can gate a ConfigMap change.
// The same composition validates as a running gateway would; only the comparison with a running state is left out.
namespace Gateway.Configuration;

internal sealed record ValidateCommand(string Path, bool Json)
{
    public const string Flag = "--validate";

    /// <summary>The command when <paramref name="args"/> asks for it; null for a normal start.</summary>
    public static ValidateCommand? Parse(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == Flag && i + 1 < args.Length)
            {
                return new ValidateCommand(System.IO.Path.GetFullPath(args[i + 1]), args.Contains("--json"));
            }
        }

        return null;
    }

    /// <summary>Validates the file, prints the outcome (text or JSON) and returns the exit code: 0 valid, 2 invalid.</summary>
    public int Run(WebApplication app)
    {
        var store = app.Services.GetRequiredService<GatewayConfigStore>();
        var preview = store.Preview(GatewayConfigFile.Read(Path));
        var output = Console.Out;
        if (Json)
        {
            output.WriteLine(ConfigAdminEndpoints.ToJson(preview, includeChanges: false).ToJsonString());
        }
        else
        {
            output.WriteLine(preview.Errors.Count == 0 ? $"valid: {Path}" : $"invalid: {Path}");
            foreach (var error in preview.Errors)
            {
                output.WriteLine($"  error: {error}");
            }

            foreach (var unknown in preview.Unknown)
            {
                output.WriteLine($"  warning: {unknown}");
            }
        }

        output.Flush();
        return preview.Errors.Count == 0 ? 0 : 2;
    }
}
