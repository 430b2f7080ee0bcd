using Gateway.Compression;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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

    [Theory]
    [InlineData("gzip, deflate, br", "br")]
    [InlineData("gzip", "gzip")]
    [InlineData("br;q=0.5, gzip", "gzip")]
    [InlineData("gzip;q=0, br;q=0", null)]
    [InlineData("identity", null)]
    [InlineData("*", "br")]
    public void Negotiation_RememberedPerValue_AnswersAsAspNetCoreDoes(string acceptEncoding, string? expected)
    {
        using var services = CompressionServices();
        var provider = services.GetRequiredService<IResponseCompressionProvider>();
        var reference = new ResponseCompressionProvider(services, services.GetRequiredService<IOptions<ResponseCompressionOptions>>());

        var first = provider.GetCompressionProvider(Request(acceptEncoding));
        var second = provider.GetCompressionProvider(Request(acceptEncoding)); // from the remembered answer

        Assert.Equal(1, ((RouteCompressionProvider)provider).NegotiatedValueCount);
        Assert.Equal(expected, reference.GetCompressionProvider(Request(acceptEncoding))?.EncodingName);
        Assert.Equal(expected, first?.EncodingName);
        Assert.Same(first, second);
    }

    [Fact]
    public void Negotiation_ManyDistinctValues_StayBounded_AndKeepAnsweringRight()
    {
        using var services = CompressionServices();
        var provider = services.GetRequiredService<IResponseCompressionProvider>();

        for (var i = 0; i < RouteCompressionProvider.MaxNegotiatedValues * 3; i++)
        {
            var encoding = i % 2 == 0 ? "gzip" : "br";
            Assert.Equal(encoding, provider.GetCompressionProvider(Request($"{encoding}, x-junk-{i}"))?.EncodingName);
            Assert.InRange(((RouteCompressionProvider)provider).NegotiatedValueCount, 1, RouteCompressionProvider.MaxNegotiatedValues);
        }

        Assert.Equal("br", provider.GetCompressionProvider(Request("gzip, deflate, br"))?.EncodingName);
        Assert.Null(provider.GetCompressionProvider(Request(null)));
    }

    private static ServiceProvider CompressionServices()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddOptions();
        services.AddLogging();
        services.AddCompression();
        return services.BuildServiceProvider();
    }

    private static DefaultHttpContext Request(string? acceptEncoding)
    {
        var context = new DefaultHttpContext();
        if (acceptEncoding is not null)
        {
            context.Request.Headers.AcceptEncoding = acceptEncoding;
        }

        return context;
    }
}
