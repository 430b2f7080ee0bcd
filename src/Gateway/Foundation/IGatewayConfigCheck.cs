// A validation that runs on every candidate configuration: at start and before every reload is accepted.
using Microsoft.Extensions.Options;

namespace Gateway.Foundation;

internal interface IGatewayConfigCheck
{
    void Check(IConfiguration candidate, ICollection<string> errors);
}

/// <summary>Binds <typeparamref name="TOptions"/> from a candidate configuration and runs its validators.</summary>
internal sealed class OptionsConfigCheck<TOptions>(string sectionPath, IEnumerable<IValidateOptions<TOptions>> validators)
    : IGatewayConfigCheck
    where TOptions : class, IConfigBindable<TOptions>, new()
{
    public void Check(IConfiguration candidate, ICollection<string> errors)
    {
        TOptions options;
        try
        {
            options = TOptions.Read(candidate.GetSection(sectionPath));
        }
        catch (InvalidOperationException ex)
        {
            errors.Add(ConfigErrors.FromBinder(ex, candidate, sectionPath));
            return;
        }

        foreach (var validator in validators)
        {
            var result = validator.Validate(Options.DefaultName, options);
            if (result.Failed)
            {
                foreach (var failure in result.Failures)
                {
                    errors.Add(failure);
                }
            }
        }
    }
}
