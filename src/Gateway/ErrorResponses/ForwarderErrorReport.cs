// One line per failed request, by who caused it. Gap in YARP: its forwarder logs every failure at Warning with the
// whole stack trace, including those a client causes (a malformed or cut-off upload, a reset): anyone could flood the
// logs. The gateway turns YARP's forwarder log down to Error (built-in defaults) and reports the final outcome here:
// upstream-side failures as one Warning line without a stack trace, client-side ones at Debug and in a counter.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Foundation;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.ErrorResponses;

internal sealed class ForwarderErrorReport
{
    private static readonly ForwarderError[] ClientSide =
    [
        ForwarderError.RequestBodyClient, ForwarderError.ResponseBodyClient, ForwarderError.UpgradeRequestClient, ForwarderError.UpgradeResponseClient,
        ForwarderError.RequestCanceled, ForwarderError.RequestBodyCanceled, ForwarderError.ResponseBodyCanceled,
        ForwarderError.UpgradeRequestCanceled, ForwarderError.UpgradeResponseCanceled,
    ];

    private static readonly string[] ClientSideNames = Array.ConvertAll(ClientSide, static e => e.ToString());

    private readonly Counter<long> _clientErrors;
    private readonly ILogger<ForwarderErrorReport> _logger;

    public ForwarderErrorReport(IMeterFactory meterFactory, ILogger<ForwarderErrorReport> logger)
    {
        _logger = logger;
        var meter = meterFactory.Create(GatewayMeter.Name);
        _clientErrors = meter.CreateCounter<long>("gateway.client.errors", "{request}",
            "Requests that failed because of the client (malformed or cut-off body, reset, cancelled), by YARP ForwarderError.");
        foreach (var name in ClientSideNames)
        {
            _clientErrors.Add(0, new TagList { { "error", name } }); // a fixed label set: at 0 from start
        }
    }

    public void Report(HttpContext context, IForwarderErrorFeature error)
    {
        var proxy = context.Features.Get<Yarp.ReverseProxy.Model.IReverseProxyFeature>();
        var route = proxy?.Route.Config.RouteId ?? "none";
        var index = Array.IndexOf(ClientSide, error.Error);
        if (index >= 0)
        {
            _clientErrors.Add(1, new TagList { { "error", ClientSideNames[index] } });
            Log.ClientFailed(_logger, route, ClientSideNames[index]);
            return;
        }

        var cause = error.Exception?.GetBaseException();
        Log.UpstreamFailed(
            _logger,
            route,
            proxy?.Cluster?.Config.ClusterId ?? "none",
            proxy?.ProxiedDestination?.DestinationId ?? "none",
            error.Error.ToString(),
            cause is null ? "no exception" : $"{cause.GetType().Name}: {cause.Message}");
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 9601, Level = LogLevel.Warning, Message = "Route '{RouteId}', cluster '{ClusterId}', destination '{DestinationId}': {Error} ({Cause})")]
    public static partial void UpstreamFailed(ILogger logger, string routeId, string clusterId, string destinationId, string error, string cause);

    [LoggerMessage(EventId = 9602, Level = LogLevel.Debug, Message = "Route '{RouteId}': the client caused {Error}")]
    public static partial void ClientFailed(ILogger logger, string routeId, string error);
}
