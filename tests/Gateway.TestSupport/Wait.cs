using System.Diagnostics;

namespace Gateway.TestSupport;

/// <summary>Poll-with-deadline: the only way tests wait for something to become true.</summary>
public static class Wait
{
    public static Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, int pollMs = 25) =>
        UntilAsync(condition, timeout, () => what, pollMs);

    /// <summary>As above; <paramref name="what"/> is asked for at the deadline, so it can say what was last seen.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what, int pollMs = 25)
    {
        var watch = Stopwatch.StartNew();
        Exception? last = null;
        while (watch.Elapsed < timeout)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception ex)
            {
                last = ex;
            }

            await Task.Delay(pollMs);
        }

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:F1} s waiting for {what()}" + (last is null ? string.Empty : $" (last error: {last.Message})"));
    }

    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, int pollMs = 25) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, what, pollMs);
}
