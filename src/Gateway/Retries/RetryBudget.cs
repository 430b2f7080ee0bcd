// Gap in YARP: it has no retries, so no retry budget either. A per-cluster token bucket in hundredths of a token,
// lock-free: first attempts deposit BudgetPercent hundredths, a retry withdraws a whole token.
namespace Gateway.Retries;

internal sealed class RetryBudget
{
    /// <summary>At most this many retries can be banked: a burst of failures after a quiet period is bounded too.</summary>
    public const int MaxTokens = 10;

    private const long Unit = 100;
    private const long Cap = MaxTokens * Unit;

    // Starts empty so retries never exceed BudgetPercent of the first attempts seen, even right after start.
    private long _hundredths;

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

    public bool TryWithdraw()
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
}
