namespace Gateway.Foundation;

/// <summary>
/// Destinations a capability wants drained (e.g. a pod that is terminating but still serving): like a drain mark set
/// through the admin API, they keep their pinned sessions and take no new ones.
/// </summary>
internal interface IDestinationDrainSource
{
    /// <summary>Named in logs (e.g. <c>kubernetes</c>).</summary>
    string Name { get; }

    /// <summary>The destinations to drain now, as (cluster id, destination id).</summary>
    IReadOnlyCollection<(string ClusterId, string DestinationId)> Draining { get; }

    event Action? Changed;
}
