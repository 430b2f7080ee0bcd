// gateway.request_buffering.requests {route, result}: what buffering did with each body on a route that has it on.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy;

namespace Gateway.RequestBuffering;

internal sealed class RequestBufferingMetrics
{
    public const string Buffered = "buffered";
    public const string TooLarge = "too_large";
    public const string BadBody = "bad_body";
    public const string ClientAborted = "client_aborted";

    private static readonly string[] Results = [Buffered, TooLarge, BadBody, ClientAborted];

    private readonly Counter<long> _requests;

    public RequestBufferingMetrics(IMeterFactory meterFactory, KnownSeries knownSeries)
    {
        var meter = meterFactory.Create(GatewayMeter.Name);
        _requests = meter.CreateCounter<long>("gateway.request_buffering.requests", "{request}",
            "Request bodies on routes with RequestBuffering on, by result (buffered, too_large, bad_body, client_aborted); only buffered ones are forwarded.");
        knownSeries.Add(Seed);
    }

    public void Record(string routeId, string result) => _requests.Add(1, new TagList { { "route", routeId }, { "result", result } });

    private void Seed(IProxyStateLookup state)
    {
        foreach (var route in state.GetRoutes())
        {
            if (RequestBufferingOptions.Block.Get(route.Config.Metadata).Own is { Enabled: true })
            {
                foreach (var result in Results)
                {
                    _requests.Add(0, new TagList { { "route", route.Config.RouteId }, { "result", result } });
                }
            }
        }
    }
}
