// Entry point: `load` runs the wrk harness, `soak` the long run under reloads and kills, `micro` the BenchmarkDotNet suite, `naive` / `yarp` are two of the
// load targets (a client-per-request forwarder and YARP with its defaults), started by the harness as child processes.
using BenchmarkDotNet.Running;
using Gateway.Benchmarks.Apps;
using Gateway.Benchmarks.Load;

namespace Gateway.Benchmarks;

public static class BenchProgram
{
    public static async Task<int> Main(string[] args)
    {
        var mode = args.Length > 0 ? args[0] : "";
        var rest = args.Length > 0 ? args[1..] : [];
        switch (mode)
        {
            case "load":
                return await LoadHarness.RunAsync(rest);
            case "soak":
                return await Soak.SoakRun.RunAsync(rest);
            case "micro":
                BenchmarkSwitcher.FromAssembly(typeof(BenchProgram).Assembly).Run(rest, Micro.MicroConfig.Create());
                return 0;
            case "naive":
                return await NaiveForwarder.RunAsync(rest);
            case "yarp":
                return await PlainYarp.RunAsync(rest);
            default:
                Console.Error.WriteLine("usage: Gateway.Benchmarks load [options] | soak [--minutes 20] | micro [BenchmarkDotNet args] | naive --upstream URL | yarp --config FILE");
                return 1;
        }
    }
}
