// A route's split, prepared once per config: the draw schedule and observed counts.
// The draw is a smooth weighted round-robin schedule (nginx's algorithm for weighted upstreams), walked with one
// atomic counter: the shares are exact over every cycle of the schedule instead of drifting as random draws do, so a
// 10% canary gets 10 of every 100 new sessions on each replica.
namespace Gateway.TrafficSplit;

internal sealed class SplitPlan
{
    private readonly long[] _served;
    private readonly int[] _schedule;
    private int _ticket = -1;

    public SplitPlan(string routeId, SplitOptions options)
    {
        RouteId = routeId;
        Options = options;
        Arms = [.. options.Clusters.Keys];
        _served = new long[Arms.Length + 1];
        _schedule = Schedule(options.Clusters.Values.Select(w => Math.Max(0, w)).ToArray());
        CookieName = options.CookieName ?? ".Gateway.Cohort." + routeId;
        CookieMaxAge = options.CookieMaxAge ?? TimeSpan.FromDays(1);
    }

    public string RouteId { get; }

    public SplitOptions Options { get; }

    public string[] Arms { get; }

    public string CookieName { get; }

    public TimeSpan CookieMaxAge { get; }

    /// <summary>The next cluster by weight.</summary>
    public string Draw()
    {
        var ticket = (uint)Interlocked.Increment(ref _ticket);
        return Arms[_schedule[ticket % (uint)_schedule.Length]];
    }

    /// <summary>One cycle of smooth weighted round robin over the weights divided by their greatest common divisor.</summary>
    private static int[] Schedule(int[] weights)
    {
        var divisor = 0;
        foreach (var weight in weights)
        {
            divisor = Gcd(divisor, weight);
        }

        var reduced = weights.Select(w => w / Math.Max(1, divisor)).ToArray();
        var total = reduced.Sum();
        var current = new long[reduced.Length];
        var schedule = new int[total];
        for (var slot = 0; slot < total; slot++)
        {
            var best = 0;
            for (var i = 0; i < reduced.Length; i++)
            {
                current[i] += reduced[i];
                if (current[i] > current[best])
                {
                    best = i;
                }
            }

            current[best] -= total;
            schedule[slot] = best;
        }

        return schedule;
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    /// <summary>The arm's index, or -1 when <paramref name="cluster"/> is not in the split.</summary>
    public int IndexOf(string cluster)
    {
        for (var i = 0; i < Arms.Length; i++)
        {
            if (string.Equals(Arms[i], cluster, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Counts a request served by arm <paramref name="index"/> (-1: by a cluster outside the split, e.g. the fallback).</summary>
    public void Served(int index) => Interlocked.Increment(ref _served[index < 0 ? Arms.Length : index]);

    public long ServedBy(int index) => Interlocked.Read(ref _served[index]);

    public long ServedOutside => Interlocked.Read(ref _served[Arms.Length]);
}
