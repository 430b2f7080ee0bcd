// Two tiny upstreams on loopback so `dotnet run` answers `curl localhost:8080/` with no other setup.
using Microsoft.Extensions.Options;

namespace Gateway.Demo;

internal sealed partial class DemoUpstreams(IOptions<DemoOptions> options, IHostEnvironment environment, ILogger<DemoUpstreams> logger)
    : IHostedService, IAsyncDisposable
{
    private readonly List<WebApplication> _apps = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!(settings.Enabled ?? environment.IsDevelopment()))
        {
            return;
        }

        for (var i = 0; i < settings.Urls.Length; i++)
        {
            var name = $"demo-{i + 1}";
            var builder = WebApplication.CreateSlimBuilder();
            builder.Configuration.Sources.Clear(); // not the gateway's Kestrel endpoints
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = settings.Urls[i] });
            builder.Logging.ClearProviders();
            var app = builder.Build();
            app.Map("/{**path}", (HttpContext context) => Results.Text(
                new System.Text.Json.Nodes.JsonObject
                {
                    ["servedBy"] = name,
                    ["method"] = context.Request.Method,
                    ["path"] = context.Request.Path.Value,
                    ["forwardedFor"] = context.Request.Headers["X-Forwarded-For"].ToString(),
                    ["message"] = $"Hello from {name}, behind the gateway. Edit config/gateway.json to route to your own services.",
                }.ToJsonString(),
                "application/json"));
            await app.StartAsync(cancellationToken);
            _apps.Add(app);
            LogStarted(logger, name, settings.Urls[i]);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var app in _apps)
        {
            await app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }
    }

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Demo upstream {Name} listening on {Url}")]
    private static partial void LogStarted(ILogger logger, string name, string url);
}
