using Gateway.PassiveHealth;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Tests.PassiveHealth;

public sealed class EjectionSettingsTests
{
    [Fact]
    public void BackOff_DoublesPerEjectionInARow_UpToTheCap()
    {
        var settings = new EjectionSettings(3, 1, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), false);

        Assert.Equal(TimeSpan.FromSeconds(10), settings.BackOff(1));
        Assert.Equal(TimeSpan.FromSeconds(20), settings.BackOff(2));
        Assert.Equal(TimeSpan.FromSeconds(40), settings.BackOff(3));
        Assert.Equal(TimeSpan.FromSeconds(60), settings.BackOff(4));
        Assert.Equal(TimeSpan.FromSeconds(60), settings.BackOff(50));
    }

    [Fact]
    public void From_ReadsClusterMetadataAndPassiveReactivationPeriod()
    {
        var cluster = new ClusterConfig
        {
            ClusterId = "c",
            HealthCheck = new HealthCheckConfig { Passive = new PassiveHealthCheckConfig { Enabled = true, ReactivationPeriod = TimeSpan.FromSeconds(5) } },
            Metadata = new Dictionary<string, string>
            {
                [EjectionSettings.ThresholdKey] = "7",
                [EjectionSettings.ConnectThresholdKey] = "2",
                [EjectionSettings.MaxReactivationPeriodKey] = "00:00:30",
                [EjectionSettings.Count5xxKey] = "true",
            },
        };

        Assert.Equal(new EjectionSettings(7, 2, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), true), EjectionSettings.From(cluster));
    }
}
