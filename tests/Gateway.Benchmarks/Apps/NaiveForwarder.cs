// Deliberately wrong: a new SocketsHttpHandler + HttpClient per request, so every request opens (and closes) its own
// upstream TCP connection. It exists to show, next to the gateway, what per-cluster pooling saves (issue 3).
namespace Gateway.Benchmarks.Apps;

internal static class NaiveForwarder
{
    public static async Task<int> RunAsync(string[] args)
    {
        var upstream = new Uri(Arg(args, "--upstream") ?? throw new ArgumentException("--upstream URL is required"));
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = Path.GetTempPath() });
        var app = builder.Build();
        app.Run(async context =>
        {
            using var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false };
            using var client = new HttpClient(handler);
            var target = new Uri(upstream, context.Request.Path + context.Request.QueryString);
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        });
        await app.RunAsync();
        return 0;
    }

    internal static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
