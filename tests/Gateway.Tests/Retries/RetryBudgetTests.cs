using Gateway.Retries;

namespace Gateway.Tests.Retries;

public sealed class RetryBudgetTests
{
    [Fact]
    public void NewBudget_IsEmpty_AndEarnsOneRetryPerTenFirstAttemptsAtTenPercent()
    {
        var budget = new RetryBudget();
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
        var budget = new RetryBudget();
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
        var budget = new RetryBudget();
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
}
