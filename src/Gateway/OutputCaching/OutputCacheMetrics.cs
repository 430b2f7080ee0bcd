// gateway.output_cache.requests {route, result=hit|miss|bypass}, gateway.output_cache.stores {route} (responses handed
// to the store) and gateway.output_cache.store_errors {operation=get|set} (Redis down or slower than
// Gateway:Redis:OperationTimeout: the request went on as a miss, or its response was not stored). Each route with an
// OutputCachePolicy exists at 0 from start or from the moment it names one; store errors with Redis configured.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Gateway.SharedState;
using Yarp.ReverseProxy;

namespace Gateway.OutputCaching;

internal sealed class OutputCacheMetrics
{
    public const string Hit = "hit";
    public const string Miss = "miss";
    public const string Bypass = "bypass";
    public const string Get = "get";
    public const string Set = "set";

    private static readonly string[] Results = [Hit, Miss, Bypass];

    private readonly Counter<long> _requests;
    private readonly Counter<long> _stores;
    private readonly Counter<long> _storeErrors;
    private readonly SharedRedis _redis;

    public OutputCacheMetrics(IMeterFactory meterFactory, KnownSeries knownSeries, SharedRedis redis)
    {
        _redis = redis;
        var meter = meterFactory.Create(GatewayMeter.Name);
        _requests = meter.CreateCounter<long>("gateway.output_cache.requests", "{request}",
            "Requests to routes with an OutputCachePolicy: served from the cache (hit), forwarded (miss), or not eligible (bypass: not GET/HEAD, or authenticated).");
        _stores = meter.CreateCounter<long>("gateway.output_cache.stores", "{response}", "Responses handed to the output cache store.");
        _storeErrors = meter.CreateCounter<long>("gateway.output_cache.store_errors", "{operation}",
            "Output cache store operations that failed or timed out (Redis down or slow): a lookup went on as a miss, a response was not stored.");
        knownSeries.Add(Seed);
    }

    public void Request(string route, string result) =>
        _requests.Add(1, new TagList { { "route", route }, { "result", result } });

    public void Stored(string route) => _stores.Add(1, new TagList { { "route", route } });

    public void StoreError(string operation) => _storeErrors.Add(1, new TagList { { "operation", operation } });

    private void Seed(IProxyStateLookup state)
    {
        foreach (var route in state.GetRoutes())
        {
            if (string.IsNullOrEmpty(route.Config.OutputCachePolicy))
            {
                continue;
            }

            foreach (var result in Results)
            {
                _requests.Add(0, new TagList { { "route", route.Config.RouteId }, { "result", result } });
            }

            _stores.Add(0, new TagList { { "route", route.Config.RouteId } });
        }

        if (_redis.IsConfigured)
        {
            _storeErrors.Add(0, new TagList { { "operation", Get } });
            _storeErrors.Add(0, new TagList { { "operation", Set } });
        }
    }
}
