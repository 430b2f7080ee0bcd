// Options binding for every capability: bound from a config section, validated at start, and the same validators
// registered as a check on every candidate config, so a reload with bad values is rejected before it is applied.
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace Gateway.Foundation;

internal static class GatewayOptionsExtensions
{
    /// <summary>
    /// Binds options from <paramref name="sectionPath"/>, validates them at start, and registers the same validator
    /// as a check on every candidate config so a reload with bad values is rejected before it is applied.
    /// </summary>
    public static IServiceCollection AddGatewayOptions<
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] TOptions,
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(
        this IServiceCollection services, string sectionPath)
        where TOptions : class, IConfigBindable<TOptions>, new()
        where TValidator : class, IValidateOptions<TOptions>
    {
        // Not BindConfiguration, and the validator is not an IValidateOptions in DI: either throws wherever the options
        // are first resolved (HostOptions and Kestrel's options during Build), which crashed the process with a stack
        // trace. The config check below binds and validates every candidate first, at start (exit 2 with every problem)
        // and before each reload, so the options only ever bind from a config that passed.
        services.AddOptions<TOptions>();
        services.AddSingleton<IOptionsFactory<TOptions>>(sp => new ReadOptionsFactory<TOptions>(sp.GetRequiredService<IConfiguration>().GetSection(sectionPath)));
        services.AddSingleton<IOptionsChangeTokenSource<TOptions>>(sp =>
            new ConfigurationChangeTokenSource<TOptions>(Options.DefaultName, sp.GetRequiredService<IConfiguration>().GetSection(sectionPath)));
        services.AddSingleton<TValidator>();
        services.AddSingleton<IGatewayConfigCheck>(sp =>
            new OptionsConfigCheck<TOptions>(sectionPath, [sp.GetRequiredService<TValidator>()]));
        services.AddSingleton(new OptionsSection(sectionPath, typeof(TOptions)));
        return services;
    }
}

/// <summary>
/// Creates the options through the type's own generated binder call (<see cref="IConfigBindable{TSelf}.Read"/>), so no
/// reflection binds them. Never throws: a bad value is reported by OptionsConfigCheck, which refuses the config (exit 2
/// at start, rejected reload later), so here it keeps the defaults.
/// </summary>
internal sealed class ReadOptionsFactory<TOptions>(IConfigurationSection section) : IOptionsFactory<TOptions>
    where TOptions : class, IConfigBindable<TOptions>, new()
{
    public TOptions Create(string name)
    {
        try
        {
            return TOptions.Read(section);
        }
        catch (InvalidOperationException)
        {
            return new TOptions();
        }
    }
}
