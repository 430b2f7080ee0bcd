// gateway.auth.results {route, result}: the outcome of each authorization decision on a route with a policy. result is
// allowed, missing (no token: 401), invalid (a token that did not validate: 401) or forbidden (valid, lacking a claim:
// 403). Each such route's results exist at 0 from start or from the moment the route names a policy.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy;

namespace Gateway.Authentication;

internal sealed class AuthMetrics
{
    public const string Allowed = "allowed";
    public const string Missing = "missing";
    public const string Invalid = "invalid";
    public const string Forbidden = "forbidden";

    private static readonly string[] Results = [Allowed, Missing, Invalid, Forbidden];

    private readonly Counter<long> _results;

    public AuthMetrics(IMeterFactory meterFactory, KnownSeries knownSeries)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _results = meter.CreateCounter<long>("gateway.auth.results", "{request}", "Authorization decisions on routes with an AuthorizationPolicy, per route and result.");
        knownSeries.Add(Seed);
    }

    public void Record(string route, string result) =>
        _results.Add(1, new TagList { { "route", route }, { "result", result } });

    private void Seed(IProxyStateLookup state)
    {
        foreach (var route in state.GetRoutes())
        {
            if (route.Config.AuthorizationPolicy is { Length: > 0 } policy
                && !string.Equals(policy, AuthenticationValidation.Anonymous, StringComparison.OrdinalIgnoreCase))
            {
                foreach (var result in Results)
                {
                    _results.Add(0, new TagList { { "route", route.Config.RouteId }, { "result", result } });
                }
            }
        }
    }
}
