// The config file as a configuration source that only ever holds the last config that passed validation.
namespace Gateway.Configuration;

internal sealed class GatewayConfigSource(GatewayConfigProvider provider) : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => provider;
}

internal sealed class GatewayConfigProvider : ConfigurationProvider
{
    public GatewayConfigProvider(IReadOnlyDictionary<string, string?>? initialData)
    {
        if (initialData is not null)
        {
            Data = new Dictionary<string, string?>(initialData, StringComparer.OrdinalIgnoreCase);
        }
    }

    /// <summary>Replaces the data and fires the reload token, so IOptionsMonitor and friends see the new values.</summary>
    public void Replace(IReadOnlyDictionary<string, string?> data)
    {
        Data = new Dictionary<string, string?>(data, StringComparer.OrdinalIgnoreCase);
        OnReload();
    }
}
