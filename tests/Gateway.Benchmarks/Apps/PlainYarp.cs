// YARP 2.3 exactly as its docs start: AddReverseProxy().LoadFromConfig(...) and MapReverseProxy(), runtime defaults.
// The baseline the gateway must not fall below (issue 11).
namespace Gateway.Benchmarks.Apps;

internal static class PlainYarp
{
    public static async Task<int> RunAsync(string[] args)
    {
        var config = NaiveForwarder.Arg(args, "--config") ?? throw new ArgumentException("--config FILE is required");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = Path.GetTempPath() });
        builder.Configuration.AddJsonFile(config, optional: false, reloadOnChange: false);
        // Environment variables (Kestrel endpoint, log level) stay on top, as for the gateway.
        builder.Configuration.AddEnvironmentVariables();
        builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
        var app = builder.Build();
        app.MapReverseProxy();
        await app.RunAsync();
        return 0;
    }
}
