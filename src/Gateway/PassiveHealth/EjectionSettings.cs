using System.Globalization;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.PassiveHealth;

/// <summary>The ConsecutiveFailures policy's values for one cluster, parsed once per cluster config from its metadata.</summary>
internal sealed record EjectionSettings(int Threshold, int ConnectThreshold, TimeSpan ReactivationPeriod, TimeSpan MaxReactivationPeriod, bool Count5xx)
{
    public const string ThresholdKey = "PassiveHealth.ConsecutiveFailures";
    public const string ConnectThresholdKey = "PassiveHealth.ConsecutiveConnectFailures";
    public const string MaxReactivationPeriodKey = "PassiveHealth.MaxReactivationPeriod";
    public const string Count5xxKey = "PassiveHealth.Count5xx";

    public static readonly TimeSpan DefaultReactivationPeriod = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultMaxReactivationPeriod = TimeSpan.FromMinutes(2);
    public const int DefaultThreshold = 3;
    public const int DefaultConnectThreshold = 1;

    /// <summary>Reads the metadata our config filter filled in (validated before the config was accepted).</summary>
    // Keyed by the cluster model YARP builds per config: a reload's new model reads its new settings once.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Yarp.ReverseProxy.Model.ClusterModel, EjectionSettings> Cached = new();

    /// <summary>The settings of <paramref name="model"/>'s config, parsed once per model (shared by the policy and the socket ejection).</summary>
    public static EjectionSettings For(Yarp.ReverseProxy.Model.ClusterModel model) =>
        Cached.GetValue(model, static m => From(m.Config));

    public static EjectionSettings From(ClusterConfig config)
    {
        var metadata = config.Metadata;
        var threshold = metadata is not null && metadata.TryGetValue(ThresholdKey, out var t)
            && int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : DefaultThreshold;
        var connect = metadata is not null && metadata.TryGetValue(ConnectThresholdKey, out var ct)
            && int.TryParse(ct, NumberStyles.Integer, CultureInfo.InvariantCulture, out var cn) && cn > 0 ? cn : DefaultConnectThreshold;
        var max = metadata is not null && metadata.TryGetValue(MaxReactivationPeriodKey, out var m)
            && TimeSpan.TryParse(m, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero ? span : DefaultMaxReactivationPeriod;
        var count5xx = metadata is not null && metadata.TryGetValue(Count5xxKey, out var c) && bool.TryParse(c, out var b) && b;
        var reactivation = config.HealthCheck?.Passive?.ReactivationPeriod is { } r && r > TimeSpan.Zero ? r : DefaultReactivationPeriod;
        return new EjectionSettings(threshold, connect, reactivation, max < reactivation ? reactivation : max, count5xx);
    }

    /// <summary>ReactivationPeriod doubled per ejection in a row (no success in between), capped.</summary>
    public TimeSpan BackOff(int ejectionsInARow)
    {
        var period = ReactivationPeriod;
        for (var i = 1; i < ejectionsInARow && period < MaxReactivationPeriod; i++)
        {
            period += period;
        }

        return period < MaxReactivationPeriod ? period : MaxReactivationPeriod;
    }
}
