// Which destinations are draining, keyed by cluster id + destination id (not by YARP objects), so a mark survives a
// config reload. Gap in YARP: it has no notion of a destination that keeps its existing sessions but takes no new ones.
using System.Collections.Frozen;

namespace Gateway.DestinationDraining;

internal readonly record struct DrainMark(string ClusterId, string DestinationId);

internal sealed class DestinationDrain(ILogger<DestinationDrain> logger)
{
    private readonly Lock _gate = new();
    private readonly HashSet<DrainMark> _marks = new(DrainMarkComparer.Instance);

    // Published copy for the request path: replaced wholesale on every change, read without locks.
    private volatile FrozenDictionary<string, FrozenSet<string>> _byCluster = FrozenDictionary<string, FrozenSet<string>>.Empty;

    /// <summary>False when nothing anywhere is draining: the request path's one cheap check.</summary>
    public bool AnyDraining => _byCluster.Count > 0;

    public bool TryGetDraining(string clusterId, out FrozenSet<string> destinations)
    {
        if (_byCluster.TryGetValue(clusterId, out var found))
        {
            destinations = found;
            return true;
        }

        destinations = FrozenSet<string>.Empty;
        return false;
    }

    public bool IsDraining(string clusterId, string destinationId) =>
        _byCluster.TryGetValue(clusterId, out var set) && set.Contains(destinationId);

    public IReadOnlyList<DrainMark> Marks
    {
        get
        {
            lock (_gate)
            {
                return [.. _marks];
            }
        }
    }

    /// <summary>Sets or clears one mark; returns whether it changed anything.</summary>
    public bool Set(DrainMark mark, bool draining, string source)
    {
        lock (_gate)
        {
            var changed = draining ? _marks.Add(mark) : _marks.Remove(mark);
            if (changed)
            {
                Publish();
                Log.DrainChanged(logger, mark.ClusterId, mark.DestinationId, draining, source);
            }

            return changed;
        }
    }

    /// <summary>Replaces every mark with the shared set (loaded from Redis), logging what changed.</summary>
    public void ReplaceAll(IReadOnlyCollection<DrainMark> marks, string source)
    {
        lock (_gate)
        {
            var next = new HashSet<DrainMark>(marks, DrainMarkComparer.Instance);
            if (next.SetEquals(_marks))
            {
                return;
            }

            foreach (var mark in _marks)
            {
                if (!next.Contains(mark))
                {
                    Log.DrainChanged(logger, mark.ClusterId, mark.DestinationId, false, source);
                }
            }

            foreach (var mark in next)
            {
                if (!_marks.Contains(mark))
                {
                    Log.DrainChanged(logger, mark.ClusterId, mark.DestinationId, true, source);
                }
            }

            _marks.Clear();
            _marks.UnionWith(next);
            Publish();
        }
    }

    private void Publish()
    {
        var byCluster = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var mark in _marks)
        {
            if (!byCluster.TryGetValue(mark.ClusterId, out var list))
            {
                byCluster[mark.ClusterId] = list = [];
            }

            list.Add(mark.DestinationId);
        }

        _byCluster = byCluster.ToFrozenDictionary(
            static p => p.Key,
            static p => p.Value.ToFrozenSet(StringComparer.OrdinalIgnoreCase),
            StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>YARP compares cluster and destination ids case-insensitively; so do we.</summary>
    private sealed class DrainMarkComparer : IEqualityComparer<DrainMark>
    {
        public static readonly DrainMarkComparer Instance = new();

        public bool Equals(DrainMark x, DrainMark y) =>
            StringComparer.OrdinalIgnoreCase.Equals(x.ClusterId, y.ClusterId)
            && StringComparer.OrdinalIgnoreCase.Equals(x.DestinationId, y.DestinationId);

        public int GetHashCode(DrainMark obj) => HashCode.Combine(
            StringComparer.OrdinalIgnoreCase.GetHashCode(obj.ClusterId),
            StringComparer.OrdinalIgnoreCase.GetHashCode(obj.DestinationId));
    }
}
