namespace Gateway.Foundation;

/// <summary>
/// Runs a step once the rest of the pipeline has finished, however it ends (synchronously, asynchronously or by
/// throwing), with no allocation when the rest completes synchronously. Shared by the per-request trackers
/// (drain in-flight count, pool in-flight count, proxy metrics).
/// </summary>
internal static class RequestCompletion
{
    public static Task InvokeThen<TState>(RequestDelegate next, HttpContext context, TState state, Action<HttpContext, TState> onCompleted)
    {
        Task pending;
        try
        {
            pending = next(context);
        }
        catch
        {
            onCompleted(context, state);
            throw;
        }

        if (pending.IsCompleted)
        {
            onCompleted(context, state);
            return pending;
        }

        return AwaitThen(pending, context, state, onCompleted);
    }

    private static async Task AwaitThen<TState>(Task pending, HttpContext context, TState state, Action<HttpContext, TState> onCompleted)
    {
        try
        {
            await pending;
        }
        finally
        {
            onCompleted(context, state);
        }
    }
}
