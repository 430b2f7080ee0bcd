using Gateway.Observability;

namespace Gateway.Tests.Observability;

public sealed class TelemetryOptionsTests
{
    private static readonly TelemetryOptionsValidator Validator = new();

    [Fact]
    public void Defaults_AreValid_MetricsOn_NoOtlp_NoNewTraces()
    {
        var options = new TelemetryOptions();

        Assert.True(Validator.Validate(null, options).Succeeded);
        Assert.True(options.Metrics);
        Assert.Null(options.Otlp.Endpoint);
        Assert.Equal(0, options.TraceSampleRatio);
    }

    [Theory]
    [InlineData("http://otel-collector:4317", true)]
    [InlineData("https://collector.example/v1/traces", true)]
    [InlineData("", true)] // empty means off, like unset
    [InlineData("otel-collector:4317", false)]
    [InlineData("/v1/traces", false)]
    [InlineData("grpc://otel-collector:4317", false)]
    public void OtlpEndpoint_MustBeAnAbsoluteHttpUrl(string endpoint, bool valid)
    {
        var result = Validator.Validate(null, new TelemetryOptions { Otlp = new OtlpOptions { Endpoint = endpoint } });

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains($"Gateway:Telemetry:Otlp:Endpoint: '{endpoint}'", result.FailureMessage);
        }
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(0.01, true)]
    [InlineData(1, true)]
    [InlineData(-0.1, false)]
    [InlineData(1.01, false)]
    [InlineData(double.NaN, false)]
    public void TraceSampleRatio_IsBetweenZeroAndOne(double ratio, bool valid) =>
        Assert.Equal(valid, Validator.Validate(null, new TelemetryOptions { TraceSampleRatio = ratio }).Succeeded);
}
