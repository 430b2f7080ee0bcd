using Gateway.RateLimiting;

namespace Gateway.Tests.RateLimiting;

public sealed class RateLimitPolicyValidationTests
{
    [Theory]
    [InlineData("ClientIp", "ClientIp", null)]
    [InlineData("route", "Route", null)]
    [InlineData("Header:X-Api-Key", "Header", "X-Api-Key")]
    public void PartitionBy_Parses_TheThreeForms(string value, string kind, string? header)
    {
        Assert.True(PartitionSpec.TryParse(value, out var spec));
        Assert.Equal(kind, spec.Kind.ToString());
        Assert.Equal(header, spec.HeaderName);
    }

    [Theory]
    [InlineData("Header:")]
    [InlineData("Header:bad name")]
    [InlineData("Cookie:session")]
    [InlineData("")]
    public void PartitionBy_RejectsOtherValues(string value) => Assert.False(PartitionSpec.TryParse(value, out _));

    [Fact]
    public void Validator_NamesEveryBadKeyByItsPath()
    {
        var options = new RateLimitingOptions
        {
            Policies =
            {
                ["p"] = new RateLimitPolicyOptions { Algorithm = RateLimitAlgorithm.SlidingWindow, PermitLimit = 0, Window = TimeSpan.FromMilliseconds(2), SegmentsPerWindow = 10 },
                ["Default"] = new RateLimitPolicyOptions(),
                ["c"] = new RateLimitPolicyOptions { Algorithm = RateLimitAlgorithm.Concurrency, QueueLimit = -1 },
            },
        };

        var result = new RateLimitingOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Contains(failures, f => f.StartsWith("Gateway:RateLimiting:Policies:p:PermitLimit: '0'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Gateway:RateLimiting:Policies:p:SegmentsPerWindow: '10'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Gateway:RateLimiting:Policies:Default:", StringComparison.Ordinal) && f.Contains("reserved", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Gateway:RateLimiting:Policies:c:QueueLimit: '-1'", StringComparison.Ordinal));
        Assert.Equal(4, failures.Count);
    }

    [Fact]
    public void Validator_AcceptsTheDefaults() =>
        Assert.True(new RateLimitingOptionsValidator().Validate(null, new RateLimitingOptions { Policies = { ["p"] = new RateLimitPolicyOptions() } }).Succeeded);
}
