// Once forwarding (with its retries) is over: an upstream failure gets the small JSON body of UpstreamErrorResponse.
using Gateway.Foundation;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.ErrorResponses;

internal sealed class UpstreamErrorResponseStep : IRequestStep
{
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var forwarding = next(context);
        if (forwarding.IsCompletedSuccessfully && context.Features.Get<IForwarderErrorFeature>() is null)
        {
            return forwarding;
        }

        return WriteAfterAsync(forwarding, context);
    }

    private static async Task WriteAfterAsync(Task forwarding, HttpContext context)
    {
        await forwarding;
        await UpstreamErrorResponse.WriteAsync(context);
    }
}
