using Gateway.OutputCaching;
using Microsoft.Extensions.Primitives;

namespace Gateway.Tests.OutputCaching;

public sealed class AcceptEncodingKeyTests
{
    [Theory]
    [InlineData(null, "ae=")]
    [InlineData("", "ae=")]
    [InlineData("identity", "ae=")]
    [InlineData("gzip", "ae=gzip,")]
    [InlineData("gzip, deflate, br, zstd", "ae=br,gzip,deflate,zstd,")]
    [InlineData("br;q=1.0, GZIP;q=0.8", "ae=br,gzip,")]
    [InlineData("br;q=0, gzip", "ae=gzip,")]
    [InlineData("br; q=0.000, gzip;q=0.5", "ae=gzip,")]
    [InlineData("gzip;q=0.05", "ae=gzip,")]
    [InlineData("*", "ae=other,")]
    [InlineData("x-gzip, compress", "ae=gzip,other,")]
    public void TheKey_NamesTheAcceptedEncodings_WhateverTheirOrderOrSpelling(string? header, string key) =>
        Assert.Equal(key, AcceptEncodingKey.For(header is null ? StringValues.Empty : new StringValues(header)));

    [Fact]
    public void SeveralHeaderLines_Add_Up() =>
        Assert.Equal("ae=br,gzip,", AcceptEncodingKey.For(new StringValues(["gzip", "br"])));

    [Fact]
    public void TheSameSet_IsTheSameString_NoAllocationPerRequest() =>
        Assert.Same(AcceptEncodingKey.For(new StringValues("gzip, br")), AcceptEncodingKey.For(new StringValues("br,gzip")));
}
