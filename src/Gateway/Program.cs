using Gateway;
using Gateway.Configuration;
using Gateway.Foundation;
using Gateway.Observability;

ProcessDefaults.Apply(); // socket completions inline, two malloc arenas: as the image runs, wherever it starts
// The content root is the app's own folder, so its appsettings.json (logging defaults) applies wherever it starts from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var validate = ValidateCommand.Parse(args); // --validate FILE: check a config file and exit (no listeners)
builder.AddGatewayConfiguration(args);
if (validate is null)
{
    builder.AddGatewayLogging();
}
else
{
    builder.Logging.ClearProviders();
}

builder.Services.AddGatewayFeatures(builder.Configuration);

var app = builder.Build();
if (validate is not null)
{
    return validate.Run(app);
}

if (!app.ValidateGatewayConfiguration())
{
    return 2;
}

app.UseGatewayPipeline();

try
{
    await app.RunAsync();
    return 0;
}
catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
{
    await Console.Error.WriteLineAsync($"Gateway cannot listen: {ex.Message} (check Kestrel:Endpoints:*:Url)");
    return 3;
}
catch (Exception ex) when (ex is InvalidOperationException or System.Security.Cryptography.CryptographicException or IOException or FormatException)
{
    // Kestrel's own start-up refusals (the config checks catch the known ones first): one line, not a stack trace.
    await Console.Error.WriteLineAsync($"Gateway cannot start: {ex.Message}");
    return 2;
}
