// Range checks for the breaker settings, on the defaults and on every cluster's CircuitBreaker block, at start and on reload.
using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.CircuitBreaker;

internal static class CircuitBreakerValidation
{
    public static void Validate(CircuitBreakerOptions options, string path, ICollection<string> errors)
    {
        if (options.MaxConcurrentRequests is < 1)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MaxConcurrentRequests", options.MaxConcurrentRequests.ToString(), "must be at least 1 (leave it unset for no limit)"));
        }

        if (options.MaxPendingRequests is < 0)
        {
            errors.Add(ConfigErrors.Invalid($"{path}:MaxPendingRequests", options.MaxPendingRequests.ToString(), "must be 0 or more (requests that may wait for a place)"));
        }
    }
}

internal sealed class CircuitBreakerOptionsValidator : IValidateOptions<CircuitBreakerOptions>
{
    public ValidateOptionsResult Validate(string? name, CircuitBreakerOptions options)
    {
        var errors = new List<string>();
        CircuitBreakerValidation.Validate(options, CircuitBreakerOptions.DefaultsSectionPath, errors);
        return ConfigErrors.ToResult(errors);
    }
}
