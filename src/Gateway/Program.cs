using Gateway;
using Gateway.Configuration;
using Gateway.Observability;

var builder = WebApplication.CreateBuilder(args);
builder.AddGatewayConfiguration(args);
builder.AddGatewayLogging();
builder.Services.AddGatewayFeatures(builder.Configuration);

var app = builder.Build();
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
