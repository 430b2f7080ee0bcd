using Gateway.Retries;

namespace Gateway.Tests.Retries;

public sealed class RetryBudgetTests
{
    [Fact]
    public void NewBudget_IsEmpty_AndEarnsOneRetryPerTenFirstAttemptsAtTenPercent()
    {
        var budget = new RetryBudget(new ManualTime());
        Assert.False(budget.TryWithdraw());

        for (var i = 0; i < 9; i++)
        {
            budget.Deposit(10);
        }

        Assert.False(budget.TryWithdraw());
        budget.Deposit(10);
        Assert.True(budget.TryWithdraw());
        Assert.False(budget.TryWithdraw());
    }

    [Fact]
    public void Budget_IsCapped_SoAQuietPeriodCannotBankUnlimitedRetries()
    {
        var budget = new RetryBudget(new ManualTime());
        for (var i = 0; i < 10_000; i++)
        {
            budget.Deposit(100);
        }

        var retries = 0;
        while (budget.TryWithdraw())
        {
            retries++;
        }

        Assert.Equal(RetryBudget.MaxTokens, retries);
    }

    [Fact]
    public void ConcurrentDepositsAndWithdrawals_NeverSpendMoreThanDeposited()
    {
        var budget = new RetryBudget(new ManualTime());
        var spent = 0;
        Parallel.For(0, 100_000, _ =>
        {
            budget.Deposit(10);
            if (budget.TryWithdraw())
            {
                Interlocked.Increment(ref spent);
            }
        });

        Assert.InRange(spent, 1, 10_000);
    }

    [Fact]
    public void Floor_AllowsMinRetriesPerSecond_WithNothingBanked_ThenOneEveryInterval()
    {
        var time = new ManualTime();
        var budget = new RetryBudget(time);

        // One second's worth at once, nothing more.
        for (var i = 0; i < 10; i++)
        {
            Assert.True(budget.TryWithdraw(minPerSecond: 10), $"floor retry {i + 1}");
        }

        Assert.False(budget.TryWithdraw(minPerSecond: 10));

        // Then one every 100 ms.
        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(budget.TryWithdraw(minPerSecond: 10));
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(budget.TryWithdraw(minPerSecond: 10));
        Assert.False(budget.TryWithdraw(minPerSecond: 10));

        // A quiet period banks one second's worth again, never more.
        time.Advance(TimeSpan.FromMinutes(5));
        var burst = 0;
        while (budget.TryWithdraw(minPerSecond: 10))
        {
            burst++;
        }

        Assert.Equal(10, burst);
    }

    [Fact]
    public void Floor_Zero_LeavesOnlyThePercentage()
    {
        var budget = new RetryBudget(new ManualTime());

        Assert.False(budget.TryWithdraw(minPerSecond: 0));
    }

    [Fact]
    public void PercentageIsSpentFirst_TheFloorOnlyOnTopOfIt()
    {
        var time = new ManualTime();
        var budget = new RetryBudget(time);
        for (var i = 0; i < 30; i++)
        {
            budget.Deposit(10);
        }

        // 3 banked by the percentage, then the floor's 5.
        var retries = 0;
        while (budget.TryWithdraw(minPerSecond: 5))
        {
            retries++;
        }

        Assert.Equal(3 + 5, retries);
    }

    /// <summary>
    /// Every destination failing for 10 s at 200 first attempts a second: retries stay within
    /// N x BudgetPercent/100 + MaxTokens + MinRetriesPerSecond x (T + 1), the bound docs/resilience.md states.
    /// </summary>
    [Fact]
    public void DuringAFullOutage_RetriesStayWithinPercentPlusFloor()
    {
        var time = new ManualTime();
        var budget = new RetryBudget(time);
        const int perSecond = 200;
        const int seconds = 10;
        var retries = 0;
        for (var i = 0; i < perSecond * seconds; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1.0 / perSecond));
            budget.Deposit(10);
            if (budget.TryWithdraw(minPerSecond: 10))
            {
                retries++;
            }
        }

        var bound = (perSecond * seconds * 10 / 100) + RetryBudget.MaxTokens + (10 * (seconds + 1));
        Assert.InRange(retries, (perSecond * seconds * 10 / 100) + (10 * seconds) - 10, bound);
    }
}
