// Entry point: `load` runs the wrk harness, `coldstart` / `idle` / `stream` its cold-start, idle-connection and 100 MB body
// modes, `soak` the long run under reloads and kills, `micro` the BenchmarkDotNet suite; `naive` / `yarp` are two of the
// load targets (a client-per-request forwarder and YARP with its defaults) and `upstream` the h2c / large-body upstream,
// started by the harness as child processes.
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
            case "coldstart":
                return await ColdStart.RunAsync(rest);
            case "idle":
                return await IdleConnections.RunAsync(rest);
            case "stream":
                return await StreamedBody.RunAsync(rest);
            case "upstream":
                return await BenchUpstream.RunAsync(rest);
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
                Console.Error.WriteLine("usage: Gateway.Benchmarks load|coldstart|idle|stream [options] | soak [--minutes 20] | micro [BenchmarkDotNet args] | naive --upstream URL | yarp --config FILE | upstream --h2c-port N --http-port N");
                return 1;
        }
    }
}
