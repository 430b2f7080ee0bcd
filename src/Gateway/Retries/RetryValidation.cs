// Range checks for the retry settings, on the defaults and on every cluster's Retry block, at start and on reload.
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Retries;

internal static class RetryValidation
{
    public const int MaxAttemptsLimit = 5;
    public const int MinRetriesPerSecondLimit = 1000;

    public static void ValidateRetry(RetryOptions options, string path, ICollection<string> errors)
    {
        if (options.MaxAttempts is < 1 or > MaxAttemptsLimit)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MaxAttempts", options.MaxAttempts.ToString(), $"must be between 1 and {MaxAttemptsLimit} (attempts including the first)"));
        }

        if (options.BudgetPercent is < 0 or > 100)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:BudgetPercent", options.BudgetPercent.ToString(), "must be between 0 and 100 (retries as a percentage of requests)"));
        }

        if (options.MinRetriesPerSecond is < 0 or > MinRetriesPerSecondLimit)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MinRetriesPerSecond", options.MinRetriesPerSecond.ToString(), $"must be between 0 and {MinRetriesPerSecondLimit} (retries a second allowed on top of BudgetPercent)"));
        }
    }
}

internal sealed class RetryOptionsValidator : IValidateOptions<RetryOptions>
{
    public ValidateOptionsResult Validate(string? name, RetryOptions options)
    {
        var errors = new List<string>();
        RetryValidation.ValidateRetry(options, RetryOptions.DefaultsSectionPath, errors);
        return ConfigErrors.ToResult(errors);
    }
}
