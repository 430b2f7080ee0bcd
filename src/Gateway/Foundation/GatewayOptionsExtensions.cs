// Options binding for every capability: bound from a config section, validated at start, and the same validators
// registered as a check on every candidate config, so a reload with bad values is rejected before it is applied.
using Microsoft.Extensions.Options;

namespace Gateway.Foundation;

internal static class GatewayOptionsExtensions
{
    /// <summary>
    /// Binds options from <paramref name="sectionPath"/>, validates them at start, and registers the same validator
    /// as a check on every candidate config so a reload with bad values is rejected before it is applied.
    /// </summary>
    public static IServiceCollection AddGatewayOptions<TOptions, TValidator>(this IServiceCollection services, string sectionPath)
        where TOptions : class, new()
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().BindConfiguration(sectionPath).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
        services.AddSingleton<IGatewayConfigCheck>(sp =>
            new OptionsConfigCheck<TOptions>(sectionPath, sp.GetServices<IValidateOptions<TOptions>>()));
        return services;
    }
}
