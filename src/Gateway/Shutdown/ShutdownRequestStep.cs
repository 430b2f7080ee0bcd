// Counts proxied requests in flight (phase 3 waits for them), and while draining asks clients to reconnect elsewhere:
// HTTP/1.1 responses carry Connection: close, HTTP/2 connections get a GOAWAY.
using Gateway.Foundation;
using Microsoft.AspNetCore.Connections.Features;

namespace Gateway.Shutdown;

internal sealed class ShutdownRequestStep(DrainState state) : IRequestStep
{
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (ManagementConnectionFeature.IsManagement(context))
        {
            return next(context);
        }

        if (state.IsDraining)
        {
            AskToReconnect(context);
        }

        state.RequestStarted();
        return RequestCompletion.InvokeThen(next, context, state, static (_, drain) => drain.RequestEnded());
    }

    private static void AskToReconnect(HttpContext context)
    {
        if (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
        {
            context.Response.Headers.Connection = "close";
        }

        // HTTP/1.1: no keep-alive after this response; HTTP/2: a graceful GOAWAY.
        context.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
    }
}
