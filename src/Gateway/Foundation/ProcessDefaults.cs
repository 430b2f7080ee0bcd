// Settings the runtime and glibc read from the environment, applied by the process itself, so `dotnet Gateway.dll` (or
// the native ./Gateway) on a VM runs like the image. They have no runtimeconfig.json switch: socket completions are an
// environment variable only, and malloc arenas are glibc's. An explicit environment variable always wins.
using System.Runtime.InteropServices;

namespace Gateway.Foundation;

internal static partial class ProcessDefaults
{
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
    public const string ArenaMaxVariable = "MALLOC_ARENA_MAX";
    private const int ArenaMax = 2;
    private const int MArenaMax = -8; // glibc malloc.h M_ARENA_MAX

    /// <summary>Call first in Main: before the first socket exists and while the process has few threads.</summary>
    public static void Apply()
    {
        // Socket completions run on the epoll thread instead of hopping to the thread pool: the benchmark measured +10 %
        // req/s pinned and +25 % unpinned (docs/benchmarks.md "Runtime settings"). Read when the first socket is created.
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        }

        // At most two malloc arenas instead of up to eight per core: the soak's RSS growth halved (docs/deploy.md).
        // Arenas made before this stay; at the top of Main there are hardly any.
        if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable(ArenaMaxVariable) is null)
        {
            try
            {
                _ = MallOpt(MArenaMax, ArenaMax);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                // Not glibc (e.g. musl): its allocator has no arenas to cap.
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);
}
