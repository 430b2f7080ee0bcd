namespace Gateway.Shutdown;

internal static partial class Log
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Drain phase 1 ({Trigger}): readiness now fails; {InFlight} requests in flight")]
    public static partial void Phase1(ILogger logger, string trigger, int inFlight);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Drain phase 2: serving for {Seconds:F1} s more with Connection: close while endpoint removal propagates")]
    public static partial void Phase2(ILogger logger, double seconds);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Drain phase 3: served {Served} requests during the readiness delay; stopped accepting; waiting up to {Seconds:F1} s for {InFlight} in-flight requests")]
    public static partial void Phase3(ILogger logger, long served, int inFlight, double seconds);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Drain phase 3 done after {ElapsedMs:F0} ms; {Cut} requests were cut at the deadline")]
    public static partial void Phase3Done(ILogger logger, double elapsedMs, int cut);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Drain phase 4 done: upstream pools closed; shutdown took {ElapsedMs:F0} ms")]
    public static partial void Done(ILogger logger, double elapsedMs);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Second SIGTERM: ending the drain now")]
    public static partial void SecondSignal(ILogger logger);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "Drain phase 3 ({Why}): {WebSockets} WebSockets closed with 1001 Going Away at both ends, {EventStreams} event streams ended, {GrpcCalls} gRPC calls ended with UNAVAILABLE; {Aborted} streams did not finish in time and were aborted")]
    public static partial void StreamsClosed(ILogger logger, int webSockets, int eventStreams, int grpcCalls, string why, int aborted);
}
