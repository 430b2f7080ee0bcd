using Gateway.Foundation;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Tests.Foundation;

public sealed class GrpcStatusTests
{
    [Theory]
    [InlineData("0", "OK")]
    [InlineData("5", "NOT_FOUND")]
    [InlineData("14", "UNAVAILABLE")]
    [InlineData("16", "UNAUTHENTICATED")]
    [InlineData("17", "UNKNOWN")]
    [InlineData("05", "UNKNOWN")]
    [InlineData("-1", "UNKNOWN")]
    [InlineData("NOT_FOUND", "UNKNOWN")]
    [InlineData("", "UNKNOWN")]
    [InlineData(null, "UNKNOWN")]
    public void ACode_IsOneOfTheCanonicalNames(string? code, string expected) =>
        Assert.Equal(expected, GrpcStatus.NameOf(code));

    [Fact]
    public void TheTrailer_IsRead_ThenTheHeaderOfATrailersOnlyResponse_AndOnlyForGrpc()
    {
        var trailers = new HeaderDictionary();
        var withTrailer = Grpc(trailers);
        trailers["grpc-status"] = "5";
        Assert.Equal("NOT_FOUND", GrpcStatus.Of(withTrailer));

        var trailersOnly = Grpc(new HeaderDictionary());
        trailersOnly.Response.Headers["grpc-status"] = "7";
        Assert.Equal("PERMISSION_DENIED", GrpcStatus.Of(trailersOnly));

        var cut = Grpc(new HeaderDictionary());
        Assert.Null(GrpcStatus.Of(cut));

        var notGrpc = new DefaultHttpContext();
        notGrpc.Response.ContentType = "application/json";
        notGrpc.Response.Headers["grpc-status"] = "5";
        Assert.Null(GrpcStatus.Of(notGrpc));
    }

    private static DefaultHttpContext Grpc(IHeaderDictionary trailers)
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpResponseTrailersFeature>(new TrailersFeature { Trailers = trailers });
        context.Response.ContentType = "application/grpc+proto";
        return context;
    }

    private sealed class TrailersFeature : IHttpResponseTrailersFeature
    {
        public IHeaderDictionary Trailers { get; set; } = new HeaderDictionary();
    }
}
