// Once forwarding (with its retries) is over: an upstream failure gets the small JSON body of UpstreamErrorResponse,
// and the final outcome is reported once (ForwarderErrorReport).
using Gateway.Foundation;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.ErrorResponses;

internal sealed class UpstreamErrorResponseStep(ForwarderErrorReport report) : IRequestStep
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

    private async Task WriteAfterAsync(Task forwarding, HttpContext context)
    {
        await forwarding;
        if (context.Features.Get<IForwarderErrorFeature>() is { } error)
        {
            report.Report(context, error);
        }

        await UpstreamErrorResponse.WriteAsync(context);
    }
}
