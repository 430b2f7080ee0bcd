using Gateway.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Tests.Observability;

public sealed class GrpcStatusLabelTests
{
    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("Application/GRPC; charset=utf-8", true)]
    [InlineData("application/grpc-web", false)] // gRPC-Web carries its status in the body
    [InlineData("application/grpc-web-text", false)]
    [InlineData("application/grpcx", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void IsGrpc_IsGrpcsOwnContentTypes(string? contentType, bool expected) =>
        Assert.Equal(expected, GrpcStatusLabel.IsGrpc(contentType));

    [Theory]
    [InlineData("0", "OK")]
    [InlineData("5", "NOT_FOUND")]
    [InlineData("16", "UNAUTHENTICATED")]
    [InlineData("17", "UNKNOWN")]
    [InlineData("-1", "UNKNOWN")]
    [InlineData(" 5", "UNKNOWN")]
    [InlineData("NOT_FOUND", "UNKNOWN")]
    [InlineData("", "UNKNOWN")]
    public void FromHeader_IsACodeName_OrUnknown(string value, string expected) =>
        Assert.Equal(expected, GrpcStatusLabel.FromHeader(value));

    [Fact]
    public void Of_ReadsTheTrailers_ThenTheHeadersOfATrailersOnlyResponse()
    {
        var streamed = GrpcContext(200);
        streamed.Features.Get<IHttpResponseTrailersFeature>()!.Trailers["grpc-status"] = "13";
        var trailersOnly = GrpcContext(200);
        trailersOnly.Response.Headers["grpc-status"] = "5";

        Assert.Equal("INTERNAL", GrpcStatusLabel.Of(streamed));
        Assert.Equal("NOT_FOUND", GrpcStatusLabel.Of(trailersOnly));
    }

    [Theory]
    [InlineData(502, "UNAVAILABLE")]
    [InlineData(503, "UNAVAILABLE")]
    [InlineData(504, "UNAVAILABLE")]
    [InlineData(429, "UNAVAILABLE")]
    [InlineData(401, "UNAUTHENTICATED")]
    [InlineData(403, "PERMISSION_DENIED")]
    [InlineData(404, "UNIMPLEMENTED")]
    [InlineData(400, "INTERNAL")]
    [InlineData(413, "UNKNOWN")]
    [InlineData(200, "UNKNOWN")] // a call cut before its trailers
    public void Of_AGrpcCallWithoutAStatus_IsWhatAClientDerivesFromTheHttpStatus(int statusCode, string expected) =>
        Assert.Equal(expected, GrpcStatusLabel.Of(GrpcContext(statusCode)));

    [Fact]
    public void Of_ANonGrpcRequest_IsNone_WhateverTheResponseSays()
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = "application/json";
        context.Response.Headers["grpc-status"] = "5";

        Assert.Equal("none", GrpcStatusLabel.Of(context));
    }

    [Fact]
    public void Of_AllocatesNothingPerCall()
    {
        var context = GrpcContext(200);
        context.Features.Get<IHttpResponseTrailersFeature>()!.Trailers["grpc-status"] = "5";
        var plain = new DefaultHttpContext();
        plain.Request.ContentType = "application/json";
        var length = 0;
        for (var i = 0; i < 1_000; i++)
        {
            length += GrpcStatusLabel.Of(context).Length + GrpcStatusLabel.Of(plain).Length;
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            length += GrpcStatusLabel.Of(context).Length + GrpcStatusLabel.Of(plain).Length;
        }

        // Per call, nothing: one allocation per call would be 20,000 of them. The bound leaves room for the runtime's
        // own one-off allocations while the loop is re-compiled (seen: 24 B, once), which a loaded box can move into it.
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"{allocated} B allocated by 20,000 calls");
        Assert.True(length > 0);
    }

    private static DefaultHttpContext GrpcContext(int statusCode)
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpResponseTrailersFeature>(new TrailersFeature());
        context.Request.ContentType = "application/grpc";
        context.Response.StatusCode = statusCode;
        return context;
    }

    private sealed class TrailersFeature : IHttpResponseTrailersFeature
    {
        public IHeaderDictionary Trailers { get; set; } = new HeaderDictionary();
    }
}
