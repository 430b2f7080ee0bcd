// Keeps ASP.NET Core's authentication schemes in step with Gateway:Authentication:Schemes.
// Gap: AddJwtBearer registers a fixed set of schemes at start, and each scheme's options are built once and cached.
// Here schemes are added to and removed from IAuthenticationSchemeProvider as the config changes, and a changed
// scheme's cached options (with its key cache) are dropped, so the next request builds them from the new settings.
// An unchanged scheme keeps its options and so its fetched keys across reloads.
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Gateway.Authentication;

internal sealed class JwtSchemes(
    IAuthenticationSchemeProvider schemes,
    IOptionsMonitorCache<JwtBearerOptions> optionsCache,
    IOptionsMonitor<GatewayAuthenticationOptions> options,
    ILogger<JwtSchemes> logger) : IHostedService, IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _applied = new(StringComparer.Ordinal);
    private IDisposable? _subscription;

    /// <summary>Before the server starts: the schemes of the validated start-up config.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Apply(options.CurrentValue);
        _subscription = options.OnChange(Apply);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Apply(GatewayAuthenticationOptions current)
    {
        lock (_lock)
        {
            foreach (var (name, scheme) in current.Schemes)
            {
                var settings = Fingerprint(scheme);
                if (!_applied.TryGetValue(name, out var old))
                {
                    schemes.AddScheme(new AuthenticationScheme(name, displayName: null, typeof(JwtBearerHandler)));
                    optionsCache.TryRemove(name);
                    Log.SchemeChanged(logger, name, "added");
                }
                else if (!string.Equals(old, settings, StringComparison.Ordinal))
                {
                    optionsCache.TryRemove(name);
                    Log.SchemeChanged(logger, name, "changed; its keys are fetched again");
                }

                _applied[name] = settings;
            }

            foreach (var name in _applied.Keys.ToList())
            {
                if (!current.Schemes.ContainsKey(name))
                {
                    schemes.RemoveScheme(name);
                    optionsCache.TryRemove(name);
                    _applied.Remove(name);
                    Log.SchemeChanged(logger, name, "removed");
                }
            }
        }
    }

    /// <summary>The settings that make a scheme's options (and its key cache) be built again when they change.</summary>
    public static string Fingerprint(JwtSchemeOptions s) => string.Join('\n',
        s.Type, s.Authority, s.MetadataAddress, s.JwksUri, s.Issuer, string.Join(' ', s.Audiences), s.RequireHttpsMetadata,
        s.ClockSkew, s.RefreshInterval, s.AutomaticRefreshInterval, s.RoleClaim);

    public void Dispose() => _subscription?.Dispose();
}
