// Gap in YARP: it has no retries, so no retry budget either. Per cluster, two lock-free buckets, as Linkerd's
// minRetriesPerSecond and Finagle's RetryBudget do:
// - the percentage, in hundredths of a token: first attempts deposit BudgetPercent hundredths, a retry withdraws a
//   whole token (at most MaxTokens banked);
// - the floor: MinRetriesPerSecond tokens a second whatever the traffic (at most one second's worth banked), so a
//   pod death is absorbed at low traffic too, where the percentage has banked almost nothing.
// A retry spends from the percentage first, then from the floor. Over any T seconds with N first attempts, retries
// are at most N x BudgetPercent/100 + MaxTokens + MinRetriesPerSecond x (T + 1).
namespace Gateway.Retries;

internal sealed class RetryBudget(TimeProvider time)
{
    /// <summary>At most this many percentage retries can be banked: a burst of failures after a quiet period is bounded too.</summary>
    public const int MaxTokens = 10;

    private const long Unit = 100;
    private const long Cap = MaxTokens * Unit;

    // Starts empty so percentage retries never exceed BudgetPercent of the first attempts seen, even right after start.
    private long _hundredths;

    // The floor as a generic cell rate: the time (in TimeProvider timestamps) at which its bucket is full again.
    private long _floorFullAt = long.MinValue;

    public double Tokens => Interlocked.Read(ref _hundredths) / (double)Unit;

    public void Deposit(int percent)
    {
        if (percent <= 0)
        {
            return;
        }

        var current = Interlocked.Read(ref _hundredths);
        while (current < Cap)
        {
            var next = Math.Min(current + percent, Cap);
            var seen = Interlocked.CompareExchange(ref _hundredths, next, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>A token from the percentage if one is banked, else from the floor of <paramref name="minPerSecond"/> a second.</summary>
    public bool TryWithdraw(int minPerSecond = 0) => TryWithdrawPercentage() || TryWithdrawFloor(minPerSecond);

    private bool TryWithdrawPercentage()
    {
        var current = Interlocked.Read(ref _hundredths);
        while (current >= Unit)
        {
            var seen = Interlocked.CompareExchange(ref _hundredths, current - Unit, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    private bool TryWithdrawFloor(int perSecond)
    {
        if (perSecond <= 0)
        {
            return false;
        }

        var now = time.GetTimestamp();
        var second = time.TimestampFrequency;
        var interval = Math.Max(second / perSecond, 1);
        var current = Interlocked.Read(ref _floorFullAt);
        while (true)
        {
            // An empty bucket is full again one second after now; each token spent moves that time one interval on.
            var next = Math.Max(current, now) + interval;
            if (next - now > second)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _floorFullAt, next, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }
    }
}
