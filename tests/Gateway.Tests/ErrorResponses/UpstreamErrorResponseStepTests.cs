using System.Net.Http;
using System.Text;
using Gateway.ErrorResponses;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Tests.ErrorResponses;

public sealed class UpstreamErrorResponseStepTests
{
    private readonly UpstreamErrorResponseStep _step = new(new ForwarderErrorReport(
        new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
        Microsoft.Extensions.Logging.Abstractions.NullLogger<ForwarderErrorReport>.Instance));

    [Fact]
    public async Task ASuccessfulForward_PassesThroughUntouched()
    {
        var context = NewContext();

        var forwarded = _step.InvokeAsync(context, static c => { c.Response.StatusCode = 204; return Task.CompletedTask; });

        Assert.True(forwarded.IsCompletedSuccessfully);
        await forwarded;
        Assert.Equal(204, context.Response.StatusCode);
        Assert.Equal(string.Empty, Body(context));
    }

    [Fact]
    public async Task AnUpstreamFailure_GetsAStableJsonBody_NamingNoDestination()
    {
        var context = NewContext();

        await _step.InvokeAsync(context, static c => Fail(c, ForwarderError.Request, 502));

        Assert.Equal(502, context.Response.StatusCode);
        Assert.Equal("application/json", context.Response.ContentType);
        Assert.Equal("""{"error":"upstream_unavailable"}""", Body(context));
    }

    [Fact]
    public async Task NoAvailableDestination_AndAnUpstreamTimeout_AreToldApart()
    {
        var none = NewContext();
        await _step.InvokeAsync(none, static c => Fail(c, ForwarderError.NoAvailableDestinations, 503));
        var timedOut = NewContext();
        await _step.InvokeAsync(timedOut, static c => Fail(c, ForwarderError.RequestTimedOut, 502));

        Assert.Equal("""{"error":"no_healthy_upstream"}""", Body(none));
        Assert.Equal(504, timedOut.Response.StatusCode);
        Assert.Equal("""{"error":"upstream_timeout"}""", Body(timedOut));
    }

    [Fact]
    public async Task AClientSideError_GetsNoBody()
    {
        var context = NewContext();

        await _step.InvokeAsync(context, static c => Fail(c, ForwarderError.RequestBodyClient, 400));

        Assert.Equal(400, context.Response.StatusCode);
        Assert.Equal(string.Empty, Body(context));
    }

    [Theory]
    [InlineData(413, """{"error":"body_too_large"}""")]
    [InlineData(408, """{"error":"request_timeout"}""")]
    [InlineData(400, """{"error":"bad_request"}""")]
    public async Task ABodyKestrelRefusedMidStream_GetsTheJsonBodyOfKestrelsStatus_AndClosesTheConnection(int status, string body)
    {
        var context = NewContext();
        // As YARP reports it: the copy's failure and HttpClient's, both carrying Kestrel's exception.
        var kestrel = new BadHttpRequestException("refused", status);
        var reported = new AggregateException(kestrel, new HttpRequestException("copy failed", new IOException("read failed", kestrel)));

        await _step.InvokeAsync(context, c => Fail(c, ForwarderError.RequestBodyClient, status, reported));

        Assert.Equal(status, context.Response.StatusCode);
        Assert.Equal("application/json", context.Response.ContentType);
        Assert.Equal(body, Body(context));
        Assert.Equal("close", context.Response.Headers.Connection.ToString());
    }

    private static DefaultHttpContext NewContext() => new() { Response = { Body = new MemoryStream() } };

    private static async Task Fail(HttpContext context, ForwarderError error, int status, Exception? exception = null)
    {
        await Task.Yield();
        context.Response.StatusCode = status;
        context.Features.Set<IForwarderErrorFeature>(new ErrorFeature(error, exception));
    }

    private static string Body(HttpContext context) => Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());

    private sealed record ErrorFeature(ForwarderError Error, Exception? Exception) : IForwarderErrorFeature;
}
