using Gateway.Compression;

namespace Gateway.Tests.Compression;

public sealed class RouteCompressionProviderTests
{
    [Theory]
    [InlineData("application/json", true)]
    [InlineData("application/json; charset=utf-8", true)]
    [InlineData("Application/JSON", true)]
    [InlineData("text/html", true)]
    [InlineData("text/csv", true)]
    [InlineData("image/png", false)]
    [InlineData("application/jsonx", false)]
    [InlineData("textual/plain", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void MediaTypes_MatchExactly_OrByAWholeType(string? contentType, bool listed) =>
        Assert.Equal(listed, RouteCompressionProvider.IsListed(contentType, ["application/json", "text/*"]));

    [Fact]
    public void Validation_NamesBadValuesByKeyPath_AndRefusesALevelInARouteBlock()
    {
        var errors = new List<string>();
        var options = new CompressionOptions { MinimumBytes = -1, MimeTypes = ["json", "*/*", "text/html; q=1", "text/*"], Level = System.IO.Compression.CompressionLevel.Optimal };

        CompressionValidation.Validate(options, "ReverseProxy:Routes:r:Compression", isRouteBlock: true, errors);

        Assert.Contains("ReverseProxy:Routes:r:Compression:MinimumBytes: '-1' must be 0 or more", errors);
        Assert.Contains(errors, e => e.StartsWith("ReverseProxy:Routes:r:Compression:MimeTypes:0: 'json'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ReverseProxy:Routes:r:Compression:MimeTypes:1: '*/*'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ReverseProxy:Routes:r:Compression:MimeTypes:2: 'text/html; q=1'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ReverseProxy:Routes:r:Compression:Level: 'Optimal' applies to every route", StringComparison.Ordinal));
        Assert.Equal(5, errors.Count);

        errors.Clear();
        CompressionValidation.Validate(options, CompressionOptions.DefaultsSectionPath, isRouteBlock: false, errors);
        Assert.DoesNotContain(errors, e => e.Contains(":Level", StringComparison.Ordinal));
    }
}
