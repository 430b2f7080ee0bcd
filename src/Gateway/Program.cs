using Gateway.Configuration;
using Gateway.Demo;
using Gateway.Draining;
using Gateway.Management;
using Gateway.Observability;
using Gateway.Pooling;
using Gateway.Proxy;
using Gateway.Resilience;
using Gateway.SharedState;

var builder = WebApplication.CreateBuilder(args);
builder.AddGatewayConfiguration(args);
builder.AddGatewayLogging();
builder.Services
    .AddGatewayTelemetry()
    .AddManagement()
    .AddSharedState()
    .AddConnectionPools()
    .AddDraining()
    .AddDemoUpstreams()
    .AddResilience();

var app = builder.Build();
if (!app.ValidateGatewayConfiguration())
{
    return 2;
}

app.UseDraining();
app.UseRouting();
app.UseRequestTimeouts();
app.MapManagementEndpoints();
app.MapGatewayProxy();

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
