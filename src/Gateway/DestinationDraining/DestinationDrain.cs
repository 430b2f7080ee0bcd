// Which destinations are draining, keyed by cluster id + destination id (not by YARP objects), so a mark survives a
// config reload: the admin API's marks (shared through Redis by DrainSync) and those of every IDestinationDrainSource
// (e.g. a terminating pod). Gap in YARP: it has no notion of a destination that keeps its existing sessions but takes
// no new ones.
using System.Collections.Frozen;
using Gateway.Foundation;

namespace Gateway.DestinationDraining;

internal readonly record struct DrainMark(string ClusterId, string DestinationId);

internal sealed class DestinationDrain
{
    private readonly ILogger<DestinationDrain> _logger;
    private readonly Lock _gate = new();
    private readonly HashSet<DrainMark> _marks = new(DrainMarkComparer.Instance);
    private readonly Dictionary<IDestinationDrainSource, HashSet<DrainMark>> _fromSources = [];

    // Published copy for the request path: replaced wholesale on every change, read without locks.
    private volatile FrozenDictionary<string, FrozenSet<string>> _byCluster = FrozenDictionary<string, FrozenSet<string>>.Empty;

    public DestinationDrain(ILogger<DestinationDrain> logger)
        : this([], logger)
    {
    }

    public DestinationDrain(IEnumerable<IDestinationDrainSource> sources, ILogger<DestinationDrain> logger)
    {
        _logger = logger;
        foreach (var source in sources)
        {
            _fromSources[source] = new HashSet<DrainMark>(DrainMarkComparer.Instance);
            source.Changed += () => OnSourceChanged(source);
            OnSourceChanged(source);
        }
    }

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

    /// <summary>The admin API's marks (not those of drain sources).</summary>
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
                Log.DrainChanged(_logger, mark.ClusterId, mark.DestinationId, draining, source);
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
                    Log.DrainChanged(_logger, mark.ClusterId, mark.DestinationId, false, source);
                }
            }

            foreach (var mark in next)
            {
                if (!_marks.Contains(mark))
                {
                    Log.DrainChanged(_logger, mark.ClusterId, mark.DestinationId, true, source);
                }
            }

            _marks.Clear();
            _marks.UnionWith(next);
            Publish();
        }
    }

    private void OnSourceChanged(IDestinationDrainSource source)
    {
        lock (_gate)
        {
            var next = new HashSet<DrainMark>(DrainMarkComparer.Instance);
            foreach (var (clusterId, destinationId) in source.Draining)
            {
                next.Add(new DrainMark(clusterId, destinationId));
            }

            var previous = _fromSources[source];
            if (next.SetEquals(previous))
            {
                return;
            }

            foreach (var mark in previous)
            {
                if (!next.Contains(mark))
                {
                    Log.DrainChanged(_logger, mark.ClusterId, mark.DestinationId, false, source.Name);
                }
            }

            foreach (var mark in next)
            {
                if (!previous.Contains(mark))
                {
                    Log.DrainChanged(_logger, mark.ClusterId, mark.DestinationId, true, source.Name);
                }
            }

            _fromSources[source] = next;
            Publish();
        }
    }

    private void Publish()
    {
        var byCluster = new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase);
        Add(byCluster, _marks);
        foreach (var marks in _fromSources.Values)
        {
            Add(byCluster, marks);
        }

        _byCluster = byCluster.ToFrozenDictionary(
            static p => p.Key,
            static p => p.Value.ToFrozenSet(StringComparer.OrdinalIgnoreCase),
            StringComparer.OrdinalIgnoreCase);
    }

    private static void Add(Dictionary<string, HashSet<string>> byCluster, HashSet<DrainMark> marks)
    {
        foreach (var mark in marks)
        {
            if (!byCluster.TryGetValue(mark.ClusterId, out var set))
            {
                byCluster[mark.ClusterId] = set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            }

            set.Add(mark.DestinationId);
        }
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
