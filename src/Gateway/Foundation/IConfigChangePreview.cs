// The dry run's seam: each capability that keeps state across reloads says what applying a candidate config would do
// to that state (pools kept or rebuilt, settings that need a restart), from the same rules its reload uses.
using System.Text.Json.Nodes;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Foundation;

/// <summary>The serving config and a validated candidate, as the config reader produced them (blocks in Metadata).</summary>
internal sealed record ConfigChangeContext(
    IReadOnlyList<RouteConfig> CurrentRoutes,
    IReadOnlyList<ClusterConfig> CurrentClusters,
    IConfiguration Current,
    IReadOnlyList<RouteConfig> CandidateRoutes,
    IReadOnlyList<ClusterConfig> CandidateClusters,
    IConfiguration Candidate);

internal interface IConfigChangePreview
{
    /// <summary>Adds this capability's part of the change report to <paramref name="changes"/> (one property per kind of change).</summary>
    void Preview(ConfigChangeContext context, JsonObject changes);
}

/// <summary>A config section a capability reads only at start: a change to it is reported as needing a restart.</summary>
internal sealed record RestartRequiredSection(string Path, string Why);
