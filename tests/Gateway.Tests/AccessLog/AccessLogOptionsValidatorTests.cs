using Gateway.AccessLog;

namespace Gateway.Tests.AccessLog;

public sealed class AccessLogOptionsValidatorTests
{
    private static IReadOnlyList<string> Errors(AccessLogOptions options) =>
        new AccessLogOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void TheDefaults_AndTheContractExample_AreValid()
    {
        Assert.Empty(Errors(new AccessLogOptions()));
        Assert.Empty(Errors(new AccessLogOptions { Enabled = true, Format = AccessLogFormat.Json, SampleRate = 1.0 }));
        Assert.Empty(Errors(new AccessLogOptions { Fields = ["time", "STATUS", "grpc_status"], Headers = ["User-Agent", "x-request-id"], SampleRate = 0 }));
    }

    [Theory]
    [InlineData("Authorization")]
    [InlineData("authorization")]
    [InlineData("Proxy-Authorization")]
    [InlineData("Cookie")]
    [InlineData("SET-COOKIE")]
    public void ACredentialHeader_InTheAllowList_IsRefused_WithItsKeyPath(string header)
    {
        var error = Assert.Single(Errors(new AccessLogOptions { Headers = ["User-Agent", header] }));

        Assert.StartsWith($"Gateway:AccessLog:Headers:1: '{header}' is never logged", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownField_IsRefused_NamingTheKnownOnes()
    {
        var error = Assert.Single(Errors(new AccessLogOptions { Fields = ["status", "statuscode"] }));

        Assert.StartsWith("Gateway:AccessLog:Fields:1: 'statuscode' is not an access-log field (time, client, method,", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void ASampleRate_OutsideZeroToOne_IsRefused(double rate) =>
        Assert.StartsWith("Gateway:AccessLog:SampleRate:", Assert.Single(Errors(new AccessLogOptions { SampleRate = rate })), StringComparison.Ordinal);

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(2_000_000)]
    public void ABufferSize_OutOfRange_IsRefused(int size) =>
        Assert.StartsWith($"Gateway:AccessLog:BufferSize: '{size}' must be between 1 and", Assert.Single(Errors(new AccessLogOptions { BufferSize = size })), StringComparison.Ordinal);

    [Theory]
    [InlineData("")]
    [InlineData("User Agent")]
    [InlineData("X-Id:")]
    public void AHeaderName_ThatIsNotAToken_IsRefused(string header) =>
        Assert.Equal($"Gateway:AccessLog:Headers:0: '{header}' is not a header name", Assert.Single(Errors(new AccessLogOptions { Headers = [header] })));
}
